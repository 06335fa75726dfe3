"""Pure decoding: one Kafka message (bytes + headers) in, table rows out. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple, Union

import msgspec

from consumer.rows import DeadLetter, Decoded, RawRow
from consumer.sources import alpaclass, blinket, myeduzz, nutror, sun, toolzz
from consumer.sources.identity import Meta, event_uid, timestamp

EDUZZ_EVENTS = alpaclass.EVENTS + nutror.EVENTS + myeduzz.EVENTS + sun.EVENTS + blinket.EVENTS
_TAGS = {cls: str(cls.__struct_config__.tag) for cls in EDUZZ_EVENTS}  # looked up per event
EDUZZ_TYPES = frozenset(_TAGS.values())
TOOLZZ_TYPES = frozenset(toolzz.SLUGS)

# Built once: one tagged union for every Eduzz origin, so msgspec dispatches on `event`.
_EDUZZ: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Union[EDUZZ_EVENTS])  # noqa: UP007


class _Probe(msgspec.Struct):
    """Just enough of any JSON object to name and identify it, whatever else it holds."""

    id: Any = None
    event: Any = None
    sentDate: Any = None


_PROBE = msgspec.json.Decoder(_Probe)
_ANY = msgspec.json.Decoder()


class Message(NamedTuple):
    """The parts of a Kafka record decoding needs (aiokafka's ConsumerRecord has them)."""

    value: bytes
    headers: Sequence[tuple[str, bytes]]
    partition: int
    offset: int
    timestamp_ms: int


class Decoder:
    """Decodes messages of both sources; zoneless timestamps are read in each source's zone."""

    def __init__(self, zones: Mapping[str, tzinfo]) -> None:
        self._zones = dict(zones)

    def decode(self, msg: Message) -> Decoded:
        """Rows for one message; never raises for bad input (that becomes a dead letter)."""
        try:
            return self._decode(msg)
        except Exception as exc:  # a poison message must never stop a partition
            received = _received_at(None, msg.timestamp_ms)
            return _dead(msg, received, "unknown", "decode_error", f"{type(exc).__name__}: {exc}")

    def _decode(self, msg: Message) -> Decoded:
        source_header = received_header = subscription = None
        for name, value in msg.headers:  # a handful of headers: a scan beats building a dict
            if name == "source":
                source_header = value
            elif name == "received_at":
                received_header = value
            elif name == "x-subscription":
                subscription = value
        source = source_header.decode("utf-8", "replace") if source_header else ""
        received = _received_at(received_header, msg.timestamp_ms)
        if source not in self._zones:
            return _dead(msg, received, source or "unknown", "unknown_source",
                         f"header `source` is {source!r}, expected one of {sorted(self._zones)}")
        try:
            body = msg.value.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _dead(msg, received, source, "invalid_json", f"body is not UTF-8: {exc}")
        if source == "eduzz":
            return self._eduzz(msg, body, received, subscription)
        return self._toolzz(msg, body, received)

    def _eduzz(self, msg: Message, body: str, received: datetime,
               subscription: bytes | None) -> Decoded:
        zone = self._zones["eduzz"]
        try:
            event = _EDUZZ.decode(msg.value)
        except msgspec.ValidationError as exc:
            named = _enveloped(msg.value, subscription)
            if named is None:
                return self._fallback(msg, body, received, "eduzz", exc, EDUZZ_TYPES)
            try:
                event = _EDUZZ.decode(named[1])
            except msgspec.ValidationError as wrapped_exc:
                return self._fallback(msg, body, received, "eduzz", wrapped_exc, EDUZZ_TYPES,
                                      hint=named[0])
        except msgspec.DecodeError as exc:
            return _dead(msg, received, "eduzz", "invalid_json", str(exc))
        event_type = _TAGS[type(event)]
        meta = Meta(event_uid("eduzz", event.id, msg.value), event_type, received,
                    timestamp(event.event_time(), zone), msg.partition, msg.offset, zone)
        return Decoded(_raw(meta, "eduzz", body), event.learning_rows(meta),
                       event.commerce_rows(meta), None)

    def _toolzz(self, msg: Message, body: str, received: datetime) -> Decoded:
        zone = self._zones["toolzz"]
        try:
            env = toolzz.ENVELOPE.decode(msg.value)
        except msgspec.ValidationError as exc:
            return self._fallback(msg, body, received, "toolzz", exc, TOOLZZ_TYPES)
        except msgspec.DecodeError as exc:
            return _dead(msg, received, "toolzz", "invalid_json", str(exc))
        slug = env.event.slug
        meta = Meta(event_uid("toolzz", None, msg.value), slug, received,
                    timestamp(env.event.send_at, zone), msg.partition, msg.offset, zone)
        raw = _raw(meta, "toolzz", body)
        spec = toolzz.SLUGS.get(slug)
        if spec is None:
            return Decoded(raw, [], [], None)  # unknown slug: kept raw, listed as unknown
        try:
            data = spec.decoder.decode(env.data)
        except msgspec.ValidationError as exc:
            # The data decoder sees `data` as its root: give the path from the body's root.
            error = str(exc).replace("`$", "`$.data")
            if "`$" not in str(exc):
                error = f"{exc} - at `$.data`"
            return Decoded(raw, [], [], _letter(msg, received, "toolzz", "invalid_event", error))
        return Decoded(raw, data.learning_rows(meta, spec.action), [], None)

    def _fallback(self, msg: Message, body: str, received: datetime, source: str,
                  exc: msgspec.ValidationError, known: frozenset[str],
                  hint: str | None = None) -> Decoded:
        """The typed decode failed: an unknown event is kept raw, a known one is a dead letter."""
        try:
            probe = _PROBE.decode(msg.value)
        except msgspec.ValidationError as not_object:
            return _dead(msg, received, source, "invalid_envelope", str(not_object))
        except msgspec.DecodeError as malformed:  # a tag error can precede a syntax error
            return _dead(msg, received, source, "invalid_json", str(malformed))
        event = probe.event
        if source == "toolzz" and isinstance(event, dict):
            event = event.get("slug")
        event_type = hint or (event if isinstance(event, str) else None)
        if source == "eduzz" and event_type == "ping":
            return Decoded(None, [], [], None)  # the activation check: not an event
        sent = probe.sentDate if isinstance(probe.sentDate, str) else None
        zone = self._zones[source]
        meta = Meta(event_uid(source, probe.id, msg.value), event_type or "", received,
                    timestamp(sent, zone), msg.partition, msg.offset, zone)
        raw = msgspec.structs.replace(_raw(meta, source, body), event_type=event_type)
        if event_type in known:
            return Decoded(raw, [], [], _letter(msg, received, source, "invalid_event", str(exc)))
        return Decoded(raw, [], [], None)


def _enveloped(value: bytes, subscription: bytes | None) -> tuple[str, bytes] | None:
    """(event, body in the standard envelope) for a body that lacks `event` (gotcha 1: the
    published MyEduzz contract examples have no envelope) when `x-subscription`
    (`<configuration id>:<event name>`) names a known event; else None."""
    if not subscription:
        return None
    name = subscription.decode("utf-8", "replace").rpartition(":")[2].strip()
    if name not in EDUZZ_TYPES:
        return None
    try:
        obj = _ANY.decode(value)
    except msgspec.DecodeError:
        return None
    if not isinstance(obj, dict) or "event" in obj:
        return None
    envelope = dict(obj) if "data" in obj else {"data": obj}
    envelope["event"] = name
    return name, msgspec.json.encode(envelope)


def _raw(m: Meta, source: str, body: str) -> RawRow:
    return RawRow(m.event_uid, source, m.event_type, m.received_at, m.sent_at, body,
                  m.kafka_partition, m.kafka_offset)


def _letter(msg: Message, received: datetime, source: str, kind: str, error: str) -> DeadLetter:
    return DeadLetter(msg.partition, msg.offset, received, source, kind, error, msg.value)


def _dead(msg: Message, received: datetime, source: str, kind: str, error: str) -> Decoded:
    return Decoded(None, [], [], _letter(msg, received, source, kind, error))


def _received_at(header: bytes | None, timestamp_ms: int) -> datetime:
    """The receiver's clock (header), else the broker's record timestamp, else now (a
    timestamp no datetime can hold must not stop the partition)."""
    if header:
        parsed = timestamp(header.decode("ascii", "replace"), UTC)
        if parsed is not None:
            return parsed
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.now(UTC)

