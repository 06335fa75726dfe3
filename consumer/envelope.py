"""The Eduzz Webhook v3 envelope shared by AlpaClass, Nutror, MyEduzz, Sun and Blinket."""

from __future__ import annotations

import msgspec

from consumer.identity import Id


class EduzzEvent(msgspec.Struct, tag_field="event", kw_only=True):
    """`{id, event, sentDate, data}`; `id` and `sentDate` may be missing (gotchas 1-3)."""

    id: Id | None = None
    sentDate: str | None = None
