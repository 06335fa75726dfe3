"""Row shapes of the public tables (README, What lands in DuckDB); field order = column order.

msgspec Structs rather than NamedTuples: several are built per message, and msgspec's C
constructor is about five times cheaper. The store turns them into tuples for the appender.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import msgspec


class RawRow(msgspec.Struct, gc=False, frozen=True):
    """`raw_events`: one per distinct event_uid, the lossless record."""

    event_uid: str
    source: str
    event_type: str | None
    received_at: datetime
    sent_at: datetime | None
    body: str
    kafka_partition: int
    kafka_offset: int


class LearningRow(msgspec.Struct, gc=False, frozen=True):
    """`learning_events`: one per decoded learning event (per course for multi-course events)."""

    event_uid: str
    platform: str
    event_type: str
    action: str
    occurred_at: datetime
    received_at: datetime
    school_key: str | None = None
    school_name: str | None = None
    learner_key: str | None = None
    learner_id: str | None = None
    learner_email: str | None = None
    learner_name: str | None = None
    course_key: str | None = None
    course_name: str | None = None
    module_key: str | None = None
    module_name: str | None = None
    lesson_key: str | None = None
    lesson_name: str | None = None
    progress: float | None = None
    rating: float | None = None
    comment: str | None = None
    kafka_partition: int = 0
    kafka_offset: int = 0


class CommerceRow(msgspec.Struct, gc=False, frozen=True):
    """`commerce_events`: invoices, contracts, commissions, carts, tickets."""

    event_uid: str
    platform: str
    event_type: str
    occurred_at: datetime
    buyer_key: str | None = None
    invoice_id: str | None = None
    contract_id: str | None = None
    status: str | None = None
    product_ids: list[str] | None = None
    amount: Decimal | None = None
    currency: str | None = None
    kafka_partition: int = 0
    kafka_offset: int = 0
    school_key: str | None = None  # the seller (MyEduzz producer), `<platform>:<id>`
    product_amounts: list[Decimal | None] | None = None  # per product_ids entry, when sent


class DeadLetter(msgspec.Struct, gc=False, frozen=True):
    """`dead_letters`: a message that could not be decoded, kept with the reason."""

    kafka_partition: int
    kafka_offset: int
    received_at: datetime
    source: str
    error_kind: str
    error: str
    body: bytes


class Delivery(msgspec.Struct, gc=False, frozen=True):
    """`deliveries`: what one batch's messages of one source became (the duplicate rate)."""

    batch_at: datetime
    source: str
    messages: int  # positions carrying a raw row or a dead letter
    new_events: int
    duplicates: int  # positions dropped as redeliveries
    conflicts: int
    dead_letters: int
    suppressed: int = 0  # positions naming an erased person: not stored


class Written(NamedTuple):
    """What one batch left in the store."""

    events: int  # new raw_events rows
    duplicates: int  # messages whose event_uid was already stored (or repeated in the batch)
    conflicts: int  # duplicates whose body differs from the first write (sentDate aside)
    learning: int
    commerce: int
    # (source, error kind) of each dead letter stored: a redelivered one is not stored again
    letter_kinds: tuple[tuple[str, str], ...] = ()
    suppressed: int = 0  # messages naming an erased person, not stored

    @property
    def dead_letters(self) -> int:
        """Dead letters stored."""
        return len(self.letter_kinds)


class Decoded(msgspec.Struct, gc=False, frozen=True):
    """What one message becomes: a raw row unless the body is not a JSON object, the
    learning/commerce rows of a known event, and a dead letter when it could not be decoded."""

    raw: RawRow | None
    learning: list[LearningRow]
    commerce: list[CommerceRow]
    dead: DeadLetter | None


class Batch:
    """The rows of one Kafka batch, and the next offset to read per partition once stored."""

    def __init__(self) -> None:
        self.raw: list[RawRow] = []
        self.learning: list[LearningRow] = []
        self.commerce: list[CommerceRow] = []
        self.dead: list[DeadLetter] = []
        self.next_offsets: dict[int, int] = {}
        self.last_fingerprints: dict[int, str] = {}  # of the record before each next offset
        self.messages = 0

    def add(self, partition: int, offset: int, decoded: Decoded) -> None:
        """Take one decoded message, in arrival order."""
        self.messages += 1
        if decoded.raw is not None:
            self.raw.append(decoded.raw)
        self.learning.extend(decoded.learning)
        self.commerce.extend(decoded.commerce)
        if decoded.dead is not None:
            self.dead.append(decoded.dead)
        self.next_offsets[partition] = max(self.next_offsets.get(partition, 0), offset + 1)
