"""Row shapes of the public tables (data-model.md section 3); field order = column order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple


class RawRow(NamedTuple):
    """`raw_events`: one per distinct event_uid, the lossless record."""

    event_uid: str
    source: str
    event_type: str | None
    received_at: datetime
    sent_at: datetime | None
    body: str
    kafka_partition: int
    kafka_offset: int


class LearningRow(NamedTuple):
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


class CommerceRow(NamedTuple):
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


class DeadLetter(NamedTuple):
    """`dead_letters`: a message that could not be decoded, kept with the reason."""

    kafka_partition: int
    kafka_offset: int
    received_at: datetime
    source: str
    error_kind: str
    error: str
    body: bytes
