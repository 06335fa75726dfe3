"""Expected learner x course views, from the contract: learner_course_progress, course_funnel,
at_risk_learners, time_to_complete and completion_buckets.

Current state (data-model.md section 6): per learner and lesson, module or course, the latest
completed/uncompleted event decides. Readings where the contract is silent:
- `time_to_complete`: days (fractional) from the learner's first activity on the course to
  the completion that holds now; median and 90th percentile interpolate between ranks.
- `completion_buckets`: a course's lessons are those any stored event names; a learner's
  share is lessons completed now over that count, in bins 0, 10, ..., 100.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from tests.support.oracle.facts import STATE_ACTIONS, Answer, Row, group, latest, quantile

DAY = 86400


class Pair(NamedTuple):
    """One learner on one course, summarised."""

    learner: str
    course: str
    first_activity: datetime | None
    last_activity: datetime | None
    lessons: frozenset[str]  # completed now
    modules: frozenset[str]  # completed now
    completed_at: datetime | None  # set when the course is completed now
    progress: float | None  # latest sent
    enrolled: bool
    started: bool  # an active event other than enrolled


def state(rows: Sequence[Row]) -> tuple[frozenset[str], frozenset[str], datetime | None]:
    """Lessons and modules completed now, and the time of the course completion that holds
    now (None if the course is not completed now)."""
    lessons: set[str] = set()
    modules: set[str] = set()
    completed_at = None
    by_item = group((r for r in rows if r.action in STATE_ACTIONS),
                    lambda r: (r.action.split("_")[0], _item(r)))
    for (level, item), events in by_item.items():
        if item is None:
            continue
        last = latest(events, f"{level} state of {item}")
        if not last.action.endswith("_completed"):
            continue
        if level == "lesson":
            lessons.add(item)
        elif level == "module":
            modules.add(item)
        else:
            completed_at = last.at
    return frozenset(lessons), frozenset(modules), completed_at


def _item(r: Row) -> str | None:
    level = r.action.split("_")[0]
    return r.lesson if level == "lesson" else r.module if level == "module" else r.course


def pairs(rows: Sequence[Row]) -> list[Pair]:
    """Every learner x course with an event."""
    out = []
    by_pair = group((r for r in rows if r.learner and r.course), lambda r: (r.learner, r.course))
    for (learner, course), events in by_pair.items():
        active = [r.at for r in events if r.active]
        sent = [r for r in events if r.progress is not None]
        progress = latest(sent, "progress").progress if sent else None
        lessons, modules, completed_at = state(events)
        out.append(Pair(str(learner), str(course), min(active, default=None),
                        max(active, default=None), lessons, modules, completed_at, progress,
                        any(r.action == "enrolled" for r in events),
                        any(r.active and r.action != "enrolled" for r in events)))
    return out


def course_names(rows: Sequence[Row]) -> dict[str, str | None]:
    """Each course's name (the simulator never renames one, so latest = only)."""
    names = group((r for r in rows if r.course), lambda r: str(r.course))
    out: dict[str, str | None] = {}
    for course, events in names.items():
        seen = {r.course_name for r in events if r.course_name is not None}
        if len(seen) > 1:
            raise ValueError(f"course {course} renamed: {seen}")
        out[course] = next(iter(seen), None)
    return out


def rate(part: int, base: int) -> float | None:
    """part / base; None when the base is 0."""
    return part / base if base else None


def views(rows: Sequence[Row], ps: Sequence[Pair]) -> list[Answer]:
    """The learner x course views."""
    names = course_names(rows)
    progress = [(p.learner, p.course, names[p.course], p.first_activity, p.last_activity,
                 len(p.lessons), len(p.modules), p.completed_at is not None, p.completed_at,
                 p.progress) for p in ps]
    funnel = []
    for course, group_ in group(ps, lambda p: p.course).items():
        steps = [len(group_), sum(p.enrolled for p in group_), sum(p.started for p in group_),
                 sum(bool(p.lessons) for p in group_), sum(bool(p.modules) for p in group_),
                 sum(p.completed_at is not None for p in group_)]
        rates = [rate(steps[i + 1], steps[i]) for i in range(5)]
        funnel.append((course, names[course], course.split(":")[0], *steps, *rates))
    newest = max(r.at for r in rows)
    at_risk = [(p.learner, p.course, p.last_activity,
                int((newest - p.last_activity).total_seconds() // DAY)) for p in ps
               if p.completed_at is None and p.last_activity is not None
               and p.last_activity < newest - timedelta(days=7)]
    spans = group(((p.course, (p.completed_at - p.first_activity).total_seconds() / DAY)
                   for p in ps if p.completed_at is not None and p.first_activity is not None),
                  lambda s: s[0])
    to_complete = [(c, len(s), quantile([d for _, d in s], 0.5), quantile([d for _, d in s], 0.9))
                   for c, s in spans.items()]
    known = {c: len({r.lesson for r in rs})
             for c, rs in group((r for r in rows if r.course and r.lesson),
                                lambda r: str(r.course)).items()}
    buckets = Counter((p.course, min(len(p.lessons) * 10 // known[p.course] * 10, 100))
                      for p in ps if p.course in known)
    return [
        Answer("learner_course_progress", (
            "learner_key", "course_key", "course_name", "first_activity_at",
            "last_activity_at", "lessons_completed", "modules_completed", "course_completed",
            "course_completed_at", "progress"), progress),
        Answer("course_funnel", (
            "course_key", "course_name", "platform", "learners", "enrolled", "started",
            "completed_lesson", "completed_module", "completed_course", "enrolled_rate",
            "started_rate", "completed_lesson_rate", "completed_module_rate",
            "completed_course_rate"), funnel),
        Answer("at_risk_learners", ("learner_key", "course_key", "last_activity_at",
                                    "days_inactive"), at_risk),
        Answer("time_to_complete", ("course_key", "completed_learners", "median_days",
                                    "p90_days"), to_complete),
        Answer("completion_buckets", ("course_key", "bucket", "learners"),
               [(c, b, n) for (c, b), n in buckets.items()]),
    ]
