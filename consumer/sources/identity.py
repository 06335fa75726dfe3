"""Identity and time rules of data-model.md sections 2 and 5, as pure functions."""

from __future__ import annotations

import hashlib
from datetime import datetime, tzinfo

import msgspec

Id = str | int  # ids arrive as strings or numbers; both mean the same id


class Meta(msgspec.Struct, gc=False, frozen=True):
    """What is known of a message before its body is mapped: identity, arrival, position.

    A Struct, not a NamedTuple: one is built per message, and msgspec's C constructor is
    about four times cheaper.
    """

    event_uid: str
    event_type: str
    received_at: datetime
    sent_at: datetime | None
    kafka_partition: int
    kafka_offset: int
    zone: tzinfo  # the zone zoneless timestamps of this source are read in


def ident(value: Id | None) -> str | None:
    """An id as stored: `123` and `"123"` are the same id."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def key(platform: str, value: Id | None) -> str | None:
    """`<platform>:<id>`, the course/module/lesson/school key; None when there is no id."""
    # An f-string formats 123 and "123" alike, with one call less on this hot path.
    return None if value is None or value == "" else f"{platform}:{value}"


def email(value: str | None) -> str | None:
    """`lower(trim(email))`, or None when absent or blank."""
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def learner_key(platform: str, email_norm: str | None, learner_id: Id | None) -> str | None:
    """The e-mail when there is one (one person across platforms), else `<platform>:<id>`."""
    return email_norm if email_norm is not None else key(platform, learner_id)


def event_uid(source: str, event_id: object, body: bytes) -> str:
    """`eduzz:<id>` when an Eduzz body has an id, else `<source>:sha256:<hex of the body>`."""
    if source == "eduzz" and isinstance(event_id, str | int) and not isinstance(event_id, bool):
        text = ident(event_id)
        if text:
            return f"eduzz:{text}"
    return f"{source}:sha256:{hashlib.sha256(body).hexdigest()}"


_JSON = msgspec.json.Decoder()


def same_event(first: str, again: str) -> bool:
    """Whether two bodies with one event_uid are the same event: equal JSON once `sentDate`
    (top level or in `data`: it changes on every resend) is set aside."""
    if first == again:
        return True
    try:
        a, b = _JSON.decode(first), _JSON.decode(again)
    except msgspec.DecodeError:
        return False
    for body in (a, b):
        if isinstance(body, dict):
            body.pop("sentDate", None)
            if isinstance(body.get("data"), dict):
                body["data"].pop("sentDate", None)
    return bool(a == b)


def timestamp(text: str | None, zone: tzinfo) -> datetime | None:
    """ISO-8601 with or without zone (`T` or space); zoneless is read in `zone`.

    An unreadable value gives None, so the caller falls back to the next time source
    instead of losing the event.
    """
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
