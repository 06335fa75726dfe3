"""The Eduzz Webhook v3 envelope shared by AlpaClass, Nutror, MyEduzz, Sun and Blinket."""

from __future__ import annotations

import msgspec

from consumer.identity import Id, Meta
from consumer.rows import CommerceRow, LearningRow


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
