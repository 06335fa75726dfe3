"""Expected answers of the table macros, from their documented meaning (README, and each
macro's comment), for a few parameter choices.

- at_risk(as_of, min_days): the state at `as_of` (later events do not count); learners who
  had not completed the course then and whose last activity on it was at least `min_days`
  before; whole days since.
- engagement(as_of): per course with activity in the 30 days ending on as_of's day, the dau,
  wau and mau of that day, counting events up to as_of.
- course_funnel_between(from_ts, to_ts): course_funnel over the events of [from_ts, to_ts).
- course_funnel_days(first_day, last_day): the same over the events of those calendar days
  (America/Sao_Paulo), both included.
- ordered_funnel(window_days, as_of): enrolled, then started, then a lesson completed, then
  the course completed, each at or after the previous step and no later than window_days
  after the first enrolment (both ends inclusive); first occurrences, events up to as_of;
  a learner stuck at a step is in_window while the window is still open at as_of.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from consumer.journeys.events import END, START
from tests.support.oracle.current import pairs, rate
from tests.support.oracle.facts import Answer, Row, group, latest
from tests.support.oracle.periods import day

MID = START + timedelta(days=38, hours=15)  # a Thursday afternoon, cohorts still arriving
LATE = END - timedelta(hours=12)
STEPS = ("enrolled", "started", "completed_lesson", "completed_course")


def ts(at: datetime) -> str:
    """A timestamptz literal."""
    return f"'{at.isoformat()}'::timestamptz"


def at_risk(rows: Sequence[Row], as_of: datetime, min_days: int) -> Answer:
    """at_risk(as_of, min_days)."""
    out = []
    for (learner, course), rs in _pairs(rows, as_of).items():
        active = [r.at for r in rs if r.active]
        ends = [r for r in rs if r.action in ("course_completed", "course_uncompleted")]
        done = bool(ends) and latest(ends, "course state").action == "course_completed"
        if active and not done and max(active) <= as_of - timedelta(days=min_days):
            out.append((learner, course, max(active),
                        int((as_of - max(active)).total_seconds() // 86400)))
    return Answer(f"at_risk({ts(as_of)}, {min_days})",
                  ("learner_key", "course_key", "last_activity_at", "days_inactive"), out)


def engagement(rows: Sequence[Row], as_of: datetime) -> Answer:
    """engagement(as_of)."""
    today = day(as_of)
    recent = [(r.course, r.learner, day(r.at)) for r in rows
              if r.active and r.course and r.learner and r.at <= as_of
              and day(r.at) > today - timedelta(days=30)]
    out = [(course, today, len({x[1] for x in rs if x[2] == today}),
            len({x[1] for x in rs if x[2] > today - timedelta(days=7)}),
            len({x[1] for x in rs}))
           for course, rs in group(recent, lambda x: x[0]).items()]
    return Answer(f"engagement({ts(as_of)})", ("course_key", "day", "dau", "wau", "mau"), out)


def course_funnel_between(rows: Sequence[Row], start: datetime, stop: datetime) -> Answer:
    """course_funnel_between(start, stop)."""
    inside = [r for r in rows if start <= r.at < stop]
    out = []
    for course, ps in group(pairs(inside), lambda p: p.course).items():
        out.append((course, len(ps), sum(p.enrolled for p in ps), sum(p.started for p in ps),
                    sum(bool(p.lessons) for p in ps), sum(bool(p.modules) for p in ps),
                    sum(p.completed_at is not None for p in ps)))
    return Answer(f"course_funnel_between({ts(start)}, {ts(stop)})",
                  ("course_key", "learners", "enrolled", "started", "completed_lesson",
                   "completed_module", "completed_course"), out)


def course_funnel_days(rows: Sequence[Row], first: date, last: date) -> Answer:
    """course_funnel_days(first, last): the events of those days, as course_funnel_between."""
    between = course_funnel_between([r for r in rows if first <= day(r.at) <= last],
                                    datetime.min.replace(tzinfo=UTC),
                                    datetime.max.replace(tzinfo=UTC))
    return between._replace(relation=f"course_funnel_days('{first}'::date, '{last}'::date)")


def ordered_funnel(rows: Sequence[Row], window_days: int, as_of: datetime) -> Answer:
    """ordered_funnel(window_days, as_of)."""
    per_course: dict[str, list[tuple[list[bool], bool]]] = {}
    for (_, course), rs in _pairs(rows, as_of).items():
        enrolments = [r.at for r in rs if r.action == "enrolled"]
        if not enrolments:
            continue
        t: datetime | None = min(enrolments)
        closes = min(enrolments) + timedelta(days=window_days)
        reached = [True]
        for step in STEPS[1:]:
            after = t
            t = None if after is None else min(
                (r.at for r in rs if _is(step, r) and after <= r.at <= closes), default=None)
            reached.append(t is not None)
        per_course.setdefault(course, []).append((reached, closes > as_of))
    out = []
    for course, learners in per_course.items():
        counts = [sum(r[i] for r, _ in learners) for i in range(4)]
        for i, step in enumerate(STEPS):
            stuck = [still for r, still in learners if i and r[i - 1] and not r[i]]
            out.append((course, i + 1, step, counts[i], sum(stuck), len(stuck) - sum(stuck),
                        rate(counts[i], counts[i - 1]) if i else None))
    return Answer(f"ordered_funnel({window_days}, {ts(as_of)})",
                  ("course_key", "step_number", "step", "reached", "in_window", "dropped",
                   "conversion"), out)


def _is(step: str, r: Row) -> bool:
    if step == "started":
        return r.active and r.action != "enrolled"
    return r.action == ("lesson_completed" if step == "completed_lesson" else "course_completed")


def _pairs(rows: Sequence[Row], as_of: datetime) -> dict[tuple[str, str], list[Row]]:
    return {(str(k[0]), str(k[1])): v for k, v in group(
        (r for r in rows if r.learner and r.course and r.at <= as_of),
        lambda r: (r.learner, r.course)).items()}


def views(rows: Sequence[Row]) -> list[Answer]:
    """Each macro for one or two parameter choices."""
    return [at_risk(rows, MID, 7), at_risk(rows, LATE, 14), engagement(rows, MID),
            engagement(rows, LATE),
            course_funnel_between(rows, START + timedelta(weeks=2), START + timedelta(weeks=6)),
            course_funnel_days(rows, day(START) + timedelta(days=10), day(MID)),
            course_funnel_days(rows, day(START), day(END)),
            ordered_funnel(rows, 14, MID), ordered_funnel(rows, 30, LATE)]
