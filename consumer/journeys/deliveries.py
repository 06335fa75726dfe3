"""Deliveries: each logical event rendered as its platform's body, with the platform's
delivery headers, redeliveries, and the order in which they reach the receiver.

Redeliveries: a retry repeats the same bytes (`x-delivery-attempt: 2`, a minute or so
later); an Eduzz manual resend repeats the event id with a new `sentDate`. Arrival is the
event time plus a delay (mostly seconds, sometimes hours, now and then a day-long backlog),
so arrival order is not event order. Everything is deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from random import Random

import msgspec

from consumer.journeys.catalogue import Course
from consumer.journeys.eduzz_payloads import Body, alpaclass, event_id, nutror, sent_date
from consumer.journeys.events import Event
from consumer.journeys.toolzz_payloads import toolzz
from consumer.sources.decoder import Message


class Delivery(msgspec.Struct, frozen=True):
    """One POST: `source` (`eduzz` | `toolzz`), the exact body bytes, the platform's extra
    headers; the logical event it carries, the event time this copy states (README, What
    lands in DuckDB: occurred_at) and when it reaches the receiver."""

    source: str
    body: bytes
    headers: tuple[tuple[str, str], ...]
    event: Event
    occurred: datetime
    arrives: datetime


def deliveries(courses: Sequence[Course], events: Sequence[Event], seed: int) -> list[Delivery]:
    """Every delivery of `events`, in arrival order."""
    rng = Random(f"{seed}:deliveries")
    schools = {c.platform: c.school_id for c in courses}
    config = {p: event_id(rng) for p in ("alpaclass", "nutror")}  # x-subscription ids
    out: list[Delivery] = []
    used: set[str] = set()
    for e in events:
        body = _body(e, rng, schools)
        source = "toolzz" if e.platform == "toolzz" else "eduzz"
        if source == "eduzz":
            while body["id"] in used:  # one id per event, always
                body["id"] = event_id(rng)
            used.add(body["id"])
        kind = str(body["event"]) if source == "eduzz" else ""
        arrives = e.at + delay(rng)
        out.append(_delivery(source, body, e, e.at, arrives, config, kind, 1))
        chance = rng.random()
        if chance < 0.04:  # a retry: the same bytes again
            again = arrives + timedelta(seconds=rng.randint(60, 180))
            out.append(_delivery(source, body, e, e.at, again, config, kind, 2))
        elif chance < 0.05 and source == "eduzz":  # a manual resend: same id, new sentDate
            resent = arrives + timedelta(seconds=rng.randint(3600, 2 * 86400))
            copy = body | {"sentDate": sent_date(resent)}
            # AlpaClass's event time is sentDate; Nutror's is createdAt, unchanged.
            occurred = resent if e.platform == "alpaclass" else e.at
            out.append(_delivery(source, copy, e, occurred, resent, config, kind, 1))
    out.sort(key=lambda d: d.arrives)  # stable: same instant, generation order
    return out


def _body(e: Event, rng: Random, schools: dict[str, str]) -> Body:
    if e.platform == "alpaclass":
        return alpaclass(e, rng, (schools["alpaclass"], "Escola de Teste"))
    if e.platform == "nutror":
        return nutror(e, rng)
    return toolzz(e, rng, schools["toolzz"])


def delay(rng: Random) -> timedelta:
    """How long after the event its delivery reaches the receiver."""
    r = rng.random()
    if r < 0.8:
        return timedelta(seconds=rng.randint(0, 5))
    if r < 0.95:
        return timedelta(seconds=rng.randint(6, 1800))
    if r < 0.99:
        return timedelta(seconds=rng.randint(1800, 8 * 3600))
    return timedelta(seconds=rng.randint(86400, 3 * 86400))  # a platform's backlog


def _delivery(source: str, body: Body, e: Event, occurred: datetime, arrives: datetime,
              config: dict[str, str], kind: str, attempt: int) -> Delivery:
    headers: tuple[tuple[str, str], ...] = ()
    if source == "eduzz":
        headers = (("x-subscription", f"{config[e.platform]}:{kind}"),
                   ("x-delivery-attempt", str(attempt)))
    return Delivery(source, msgspec.json.encode(body), headers, e, occurred, arrives)


def identity(d: Delivery) -> str:
    """The event_uid the data model gives this delivery: `eduzz:<id>`, else
    `<source>:sha256:<hex of the body>`."""
    if d.source == "eduzz":
        found = msgspec.json.decode(d.body).get("id")
        if isinstance(found, str) and found:
            return f"eduzz:{found}"
    return f"{d.source}:sha256:{hashlib.sha256(d.body).hexdigest()}"


def shuffled(ds: Sequence[Delivery], seed: int) -> list[Delivery]:
    """Another arrival order of the same deliveries: a random permutation in which the copies
    of one event keep their relative order (the first copy stays the one stored)."""
    rng = Random(f"{seed}:shuffle")
    uids = [identity(d) for d in ds]
    copies: dict[str, deque[Delivery]] = defaultdict(deque)
    for uid, d in zip(uids, ds, strict=True):
        copies[uid].append(d)
    order = list(range(len(ds)))
    rng.shuffle(order)
    return [copies[uids[i]].popleft() for i in order]


def messages(ds: Sequence[Delivery], partitions: int = 3) -> Iterator[Message]:
    """The Kafka records the receiver would write for `ds`, with `received_at` = arrival,
    spread over partitions by learner as the receiver's key does."""
    offsets = [0] * partitions
    for d in ds:
        p = zlib.crc32(str(d.event.learner.n).encode()) % partitions
        received = d.arrives.isoformat().encode()
        headers = [("source", d.source.encode()), ("received_at", received),
                   *((k, v.encode()) for k, v in d.headers)]
        yield Message(d.body, headers, p, offsets[p], int(d.arrives.timestamp() * 1000))
        offsets[p] += 1
