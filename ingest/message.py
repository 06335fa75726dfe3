"""The Kafka message the receiver writes: raw body as value, learner identity as key.

The contract (README, Receiver endpoints) is what the consumer reads: value = the body
exactly as received; headers `source`, `received_at` and the platform's delivery headers;
key = the learner identity (ingest.learner), else the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

import msgspec

from ingest.learner import email, learner_key

# Delivery headers copied from the HTTP request when the platform sent them.
DELIVERY_HEADERS = ("x-delivery-attempt", "x-subscription")


class _Person(msgspec.Struct):
    id: str | int | float | None = None
    email: str | None = None


class _Data(msgspec.Struct):
    student: _Person | None = None  # AlpaClass
    learner: _Person | None = None  # Nutror
    user: _Person | None = None  # Toolzz
    buyer: _Person | None = None  # MyEduzz invoices
    customer: _Person | None = None  # MyEduzz contracts, Sun
    participant: _Person | None = None  # Blinket


class _Envelope(msgspec.Struct):
    data: _Data | None = None
    event: str | dict[str, object] | None = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_ANY_JSON = msgspec.json.Decoder()


class NotJson(ValueError):
    """The body is not a JSON object; the message says why in one line."""


class Inspected(NamedTuple):
    """What the receiver reads of a body: the Kafka key, and the Eduzz event name if any."""

    key: bytes
    event: str | None


def inspect_body(source: str, body: bytes) -> Inspected:
    """The Kafka key and event name of a body.

    The key is the learner identity the body carries (so a learner's events stay ordered),
    else the source. Raises NotJson when the body is not a JSON object; a JSON object of
    unexpected shape is still accepted: the edge keeps everything, the consumer judges.
    """
    try:
        # JSON is UTF-8: checked whole, so a stray byte in a field the key does not read
        # is refused here rather than dead-lettered downstream.
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJson(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        envelope = _ENVELOPE.decode(body)
    except msgspec.ValidationError:
        event = _require_object(body).get("event")  # an odd shape still names its event
        return Inspected(source.encode(), event if isinstance(event, str) else None)
    except msgspec.DecodeError as exc:
        raise NotJson(f"body is not valid JSON: {exc}") from None
    event = envelope.event if isinstance(envelope.event, str) else None
    return Inspected(_key(source, envelope), event)


def _key(source: str, envelope: _Envelope) -> bytes:
    data = envelope.data
    if data is None:
        return source.encode()
    platform = _platform(source, envelope.event)
    for person in (data.student, data.learner, data.user, data.buyer, data.customer,
                   data.participant):
        if person is None:
            continue
        found = learner_key(platform, email(person.email),
                            None if person.id is None else _id(person.id))
        if found is not None:
            return found.encode()
    return source.encode()


def _require_object(body: bytes) -> dict[str, object]:
    try:
        value = _ANY_JSON.decode(body)
    except msgspec.DecodeError as exc:
        raise NotJson(f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise NotJson(f"body must be a JSON object, got {type(value).__name__}")
    return value


def _platform(source: str, event: object) -> str:
    if isinstance(event, str) and "." in event:
        return event.split(".", 1)[0]
    return source


def _id(value: str | int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def headers(source: str, request_headers: Mapping[str, str],
            received_at: datetime | None = None) -> list[tuple[str, bytes]]:
    """Kafka headers for one delivery: source, received_at (ISO-8601 UTC), delivery headers."""
    at = (received_at or datetime.now(UTC)).astimezone(UTC)
    out = [("source", source.encode()),
           ("received_at", at.isoformat(timespec="microseconds").replace("+00:00", "Z").encode())]
    for name in DELIVERY_HEADERS:
        value = request_headers.get(name)
        if value is not None:
            out.append((name, value.encode()))
    return out
