"""The oracle's input: what the data model (README, What lands in DuckDB) says the tables
hold after a list of deliveries, worked out from the logical events and the contract's
identity and time rules, without the decoders (an independent second opinion on them and
on the SQL).

- Identity: one stored event per event_uid, the first delivery of it (the first
  write wins); learner_key = lower(trim(e-mail as sent)) else `<platform>:<id>`; course,
  module and lesson keys are `<platform>:<id>`.
- Time: the copy's own event time (`Delivery.occurred`).
- One learning row per course an event names (a Nutror enrolment may name several).
- A MyEduzz invoice event is a commerce row: buyer_key by the learner_key rule, the seller
  as `myeduzz:<producer id>`, its event time `sentDate` (the copy's own, as above).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

import msgspec

from consumer.journeys.deliveries import Delivery, identity
from consumer.journeys.events import Event

ACTIVE_EXCEPT = "inactivity_flagged"  # "active" is any learning event but this one
STATE_ACTIONS = {"lesson_completed", "lesson_uncompleted", "module_completed",
                 "module_uncompleted", "course_completed", "course_uncompleted"}


class Row(NamedTuple):
    """One learning_events row, the columns the views read."""

    action: str
    at: datetime
    learner: str | None
    course: str | None
    course_name: str | None
    module: str | None
    lesson: str | None
    lesson_name: str | None
    progress: float | None
    rating: float | None

    @property
    def active(self) -> bool:
        """Any learning event but inactivity_flagged is activity."""
        return self.action != ACTIVE_EXCEPT


class Stored(NamedTuple):
    """One raw_events row: source, event type as sent, arrival, and whether it is decoded."""

    source: str
    event_type: str
    received: datetime
    known: bool


class Answer(NamedTuple):
    """The expected content of one view or macro call: `select columns from relation`."""

    relation: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


class Sold(NamedTuple):
    """One MyEduzz invoice event as stored: the invoice's status then, the seller's
    school_key, the buyer by the learner_key rule, and the items (product id, price)."""

    invoice: str
    status: str
    at: datetime
    buyer: str
    school: str
    items: tuple[tuple[str, Decimal], ...]
    currency: str


class Facts(NamedTuple):
    """The learning_events, raw_events and (invoice) commerce_events rows a list of
    deliveries leaves."""
    rows: list[Row]
    raw: list[Stored]
    sold: list[Sold]


def facts(ds: Iterable[Delivery]) -> Facts:
    """The stored rows implied by `ds`, taken in arrival order."""
    seen: set[str] = set()
    rows: list[Row] = []
    raw: list[Stored] = []
    sold: list[Sold] = []
    for d in ds:
        uid = identity(d)
        if uid in seen:
            continue
        seen.add(uid)
        e = d.event
        body = msgspec.json.decode(d.body)
        kind = body["event"] if d.source == "eduzz" else body["event"]["slug"]
        raw.append(Stored(d.source, kind, d.arrives, e.known))
        if e.sale is not None:
            mail = e.learner.sent_email(e.platform)
            assert mail, "every simulated buyer has an e-mail"
            sold.append(Sold(e.sale.invoice, e.action, d.occurred, mail.strip().lower(),
                             f"myeduzz:{e.sale.seller.id}",
                             tuple((p.id, price) for p, price in e.sale.items),
                             e.sale.currency))
        elif e.known:
            rows.extend(_rows(e, d.occurred))
    return Facts(rows, raw, sold)


def learner_key(e: Event) -> str:
    """lower(trim(e-mail)) when the event carries one, else `<platform>:<learner id>`."""
    mail = e.learner.sent_email(e.platform)
    if mail and mail.strip():
        return mail.strip().lower()
    learner_id = e.learner.toolzz_id if e.platform == "toolzz" else e.learner.alpaclass_id
    return f"{e.platform}:{learner_id}"


def _rows(e: Event, at: datetime) -> list[Row]:
    p = e.platform
    module = f"{p}:{e.module.id}" if e.module else None
    lesson = f"{p}:{e.lesson.id}" if e.lesson else None
    # Toolzz names a lesson only by `content.lesson_id`: no lesson name reaches the store.
    name = e.lesson.name if e.lesson and p != "toolzz" else None
    rating = float(e.rating) if e.rating is not None else None
    learner = learner_key(e)
    courses: list[tuple[str | None, str | None]] = [
        (f"{p}:{c.id}", c.name) for c in e.courses] or [(None, None)]
    return [Row(e.action, at, learner, key, course_name, module, lesson, name, e.progress,
                rating) for key, course_name in courses]


T = TypeVar("T")
K = TypeVar("K")


def group(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    """Items by key, each list in input order."""
    out: dict[K, list[T]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out


def latest(rows: Sequence[Row], what: str) -> Row:
    """The row with the latest `at`. Two at that instant would need the arrival tie-break,
    which the simulator promises never to need: refuse rather than guess."""
    last = max(rows, key=lambda r: r.at)
    if sum(1 for r in rows if r.at == last.at) > 1:
        raise ValueError(f"ambiguous latest {what}: two events at {last.at}: {rows}")
    return last


def quantile(values: Sequence[float], q: float) -> float:
    """Continuous quantile with linear interpolation between closest ranks."""
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
