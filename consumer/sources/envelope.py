"""The Eduzz Webhook v3 envelope shared by AlpaClass, Nutror, MyEduzz, Sun and Blinket."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from consumer.rows import CommerceRow, LearningRow
from consumer.sources.identity import Id, Meta

# commerce_events.amount is DECIMAL(18, 2): 16 integer digits.
AMOUNT_LIMIT = Decimal(10) ** 16


class Money(msgspec.Struct, gc=False):
    """`{currency, value}`: msgspec reads `value` from the JSON text, so it is never a float."""

    value: Decimal | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        # Checked here, so an unstorable amount is a dead letter naming its path
        # instead of a DuckDB error that would fail the whole batch on every retry.
        if self.value is not None and not abs(self.value) < AMOUNT_LIMIT:
            raise ValueError(f"amount {self.value} does not fit DECIMAL(18, 2)")


class EduzzEvent(msgspec.Struct, gc=False, tag_field="event", kw_only=True):
    """`{id, event, sentDate, data}`; `id` and `sentDate` may be missing (gotchas 1-3).

    Each concrete event (one tag each) overrides `learning_rows` or `commerce_rows`.
    """

    id: Id | None = None
    sentDate: str | None = None

    def learning_rows(self, m: Meta) -> list[LearningRow]:
        """Rows for `learning_events`; none unless the event is a learning event."""
        return []

    def commerce_rows(self, m: Meta) -> list[CommerceRow]:
        """Rows for `commerce_events`; none unless the event is a sales or ticket event."""
        return []

    def event_time(self) -> str | None:
        """The sentDate to use for `sent_at` (some events carry it inside `data`)."""
        return self.sentDate
