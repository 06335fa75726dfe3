"""Expected calendar views and the raw-side views, from the contract.

Days and weeks are calendar periods in the reporting zone America/Sao_Paulo (data-model.md
section 5); weeks start on Monday. Readings where the contract is silent:
- `engagement_daily` has a row per course and day with activity; wau/mau count the 7/30
  calendar days ending on that day, inclusive.
- `cohort_retention_weekly` has a row per cohort week and week number with activity.
- `stickiness`: per learner, distinct active days among the 30 calendar days ending on the
  day of the newest event in the store; learners with none have no row.
- "the newest event in the store" is the latest occurred_at of any learning event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from consumer.journeys.events import ZONE
from tests.support.oracle.facts import Answer, Row, Stored, group


def day(at: datetime) -> date:
    """The calendar day of `at` in the reporting zone."""
    return at.astimezone(ZONE).date()


def monday(d: date) -> date:
    """The Monday starting the week of `d`."""
    return d - timedelta(days=d.weekday())


def engagement_daily(rows: Sequence[Row]) -> Answer:
    """Per course and day with activity: dau, trailing wau and mau, active events."""
    out = []
    active = [r for r in rows if r.active and r.course and r.learner]
    for course, rs in group(active, lambda r: r.course).items():
        days = group(rs, lambda r: day(r.at))
        learners = {d: {r.learner for r in events} for d, events in days.items()}

        def window(d: date, n: int, learners: dict[date, set[str | None]] = learners) -> int:
            seen: set[str | None] = set()
            for k in range(n):
                seen |= learners.get(d - timedelta(days=k), set())
            return len(seen)

        out += [(course, d, len(learners[d]), window(d, 7), window(d, 30), len(events))
                for d, events in days.items()]
    return Answer("engagement_daily", ("course_key", "day", "dau", "wau", "mau", "events"), out)


def cohort_retention_weekly(rows: Sequence[Row]) -> Answer:
    """Learners by week of first activity, and how many were active each week since."""
    weeks = {k: {monday(day(r.at)) for r in rs}
             for k, rs in group((r for r in rows if r.active and r.learner),
                                lambda r: r.learner).items()}
    cohorts = {learner: min(ws) for learner, ws in weeks.items()}
    sizes = Counter(cohorts.values())
    active = Counter((cohorts[learner], (w - cohorts[learner]).days // 7)
                     for learner, ws in weeks.items() for w in ws)
    return Answer("cohort_retention_weekly", (
        "cohort_week", "week_number", "cohort_size", "active_learners", "retention"),
        [(c, n, sizes[c], a, a / sizes[c]) for (c, n), a in active.items()])


def stickiness(rows: Sequence[Row]) -> Answer:
    """Per learner: distinct active days in the 30 days ending on the newest day."""
    last = day(max(r.at for r in rows))
    days = group(((r.learner, day(r.at)) for r in rows if r.active and r.learner
                  and last - timedelta(days=29) <= day(r.at) <= last), lambda x: x[0])
    return Answer("stickiness", ("learner_key", "active_days_30d"),
                  [(learner, len({d for _, d in ds})) for learner, ds in days.items()])


def raw_views(raw: Sequence[Stored], received: bool) -> list[Answer]:
    """unknown_events and pipeline_health. With `received` False (a run through a real
    receiver, whose clock stamps received_at) the arrival-time columns are left out."""
    unknown = []
    for (source, kind), rs in group((s for s in raw if not s.known),
                                    lambda s: (s.source, s.event_type)).items():
        times = (min(s.received for s in rs), max(s.received for s in rs)) if received else ()
        unknown.append((source, kind, len(rs), *times))
    health = []
    for source, rs in group(raw, lambda s: s.source).items():
        last = (max(s.received for s in rs),) if received else ()
        health.append((source, len(rs), *last, 0, sum(not s.known for s in rs)))
    seen = ("first_seen", "last_seen") if received else ()
    arrival = ("last_received_at",) if received else ()
    return [Answer("unknown_events", ("source", "event_type", "events", *seen), unknown),
            Answer("pipeline_health", ("source", "events", *arrival, "dead_letters",
                                       "unknown_events"), health)]
