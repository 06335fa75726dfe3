"""The Kafka message the receiver writes: raw body as value, a digest of the learner
identity as key.

The contract (README, Receiver endpoints) is what the consumer reads: value = the body
exactly as received; headers `source`, `received_at` and the platform's delivery headers;
key = the digest of the learner identity (ingest.learner), else the source. A digest, not
the e-mail: keys are what operators see in Kafka tools (README "Personal data (LGPD)"),
and one learner's events still share a key, so they stay ordered in one partition.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
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
    _refuse_duplicate_keys(body)
    try:
        envelope = _ENVELOPE.decode(body)
    except msgspec.ValidationError:
        event = _require_object(body).get("event")  # an odd shape still names its event
        return Inspected(source.encode(), event if isinstance(event, str) else None)
    except msgspec.DecodeError as exc:
        raise NotJson(f"body is not valid JSON: {exc}") from None
    event = envelope.event if isinstance(envelope.event, str) else None
    return Inspected(_key(source, envelope), event)


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        counts = Counter(k for k, _ in pairs)
        raise _DuplicateKey(next(k for k, n in counts.items() if n > 1))
    return obj


# The stdlib parser, not msgspec: only it shows each object's pairs before they become a dict.
_PAIRS = json.JSONDecoder(object_pairs_hook=_unique_pairs)


def _refuse_duplicate_keys(body: bytes) -> None:
    """A key twice in one object is read differently by different readers (msgspec keeps the
    last `id`, DuckDB's `->>` the first): the event_uid and the stored body would disagree,
    so such a body is refused (README "Receiver endpoints").

    Counted first, exactly and cheaply: every pair of every object has one `:` outside its
    strings, and msgspec keeps one pair per key, so re-encoding what it decoded gives back
    as many colons as the body holds when no key is repeated, and fewer when one is (a
    dropped pair takes its own colon, and any in its value, with it). Only an escaped colon
    (`\\u003a`) would change the count, so a body with one goes the slow way; so does a body
    that msgspec cannot read (its error message is the one given). The stdlib parser, which
    names the key, runs only on a body that fails the count: 3-4 us a body instead of 10-20.
    """
    if b"\\u003" not in body:
        try:
            if msgspec.json.encode(_ANY_JSON.decode(body)).count(b":") == body.count(b":"):
                return
        except (msgspec.DecodeError, RecursionError):
            return  # not JSON: msgspec says why, in its own words
    text = body.decode("utf-8")
    try:
        _PAIRS.decode(text)
    except _DuplicateKey as exc:
        raise NotJson(f"body has the key {str(exc)[:64]!r} twice in one object: ambiguous, "
                      "send each key once") from None
    except (ValueError, RecursionError):
        return  # not JSON: msgspec says why, in its own words


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
            return learner_digest(found)
    return source.encode()


def learner_digest(identity: str) -> bytes:
    """The Kafka key of a learner identity: 32 hex digits of its BLAKE2b digest."""
    return hashlib.blake2b(identity.encode(), digest_size=16).hexdigest().encode()


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


_second: list[tuple[int, bytes]] = [(-1, b"")]  # the last whole second seen, formatted


def _now_stamp() -> bytes:
    """Now as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as `isoformat` writes it: the date and time
    are formatted once per second, not per request (a third of the headers' cost)."""
    now = time.time_ns() // 1000
    second, micro = divmod(now, 1_000_000)
    seen, prefix = _second[0]
    if seen != second:
        prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.").encode()
        _second[0] = (second, prefix)
    return prefix + b"%06dZ" % micro


def headers(source: str, request_headers: Mapping[str, str],
            received_at: datetime | None = None) -> list[tuple[str, bytes]]:
    """Kafka headers for one delivery: source, received_at (ISO-8601 UTC), delivery headers."""
    if received_at is None:
        stamp = _now_stamp()
    else:
        stamp = received_at.astimezone(UTC).isoformat(timespec="microseconds").replace(
            "+00:00", "Z").encode()
    out = [("source", source.encode()), ("received_at", stamp)]
    for name in DELIVERY_HEADERS:
        value = request_headers.get(name)
        if value is not None:
            # aiohttp decoded the bytes with surrogateescape: this gives back exactly the
            # bytes sent, even when they are not UTF-8 (the consumer reads them leniently).
            out.append((name, value.encode("utf-8", "surrogateescape")))
    return out
