"""Expected per-lesson views, from the contract: lesson_funnel and lesson_engagement.

Readings where the contract is silent: `learners_seen` counts learners with any active event
naming the lesson (seen, started, completed, favourite, rating, comment...); `ratings` and
`comments` count events; `favorites` and `completions` count learners whose latest event of
the pair (favourite/unfavourite, completed/uncompleted) is the positive one.
"""

from __future__ import annotations

from collections.abc import Sequence

from tests.support.oracle.facts import Answer, Row, group, latest


def _only(values: set[str], what: str) -> str | None:
    if len(values) > 1:
        raise ValueError(f"{what} changed over time: {values}")
    return next(iter(values), None)


def _holds(events: Sequence[Row], yes: str, no: str, what: str) -> bool:
    pair = [r for r in events if r.action in (yes, no)]
    return bool(pair) and latest(pair, what).action == yes


def views(rows: Sequence[Row]) -> list[Answer]:
    """lesson_funnel and lesson_engagement."""
    named = [r for r in rows if r.lesson]
    course_learners = {c: len({r.learner for r in rs}) for c, rs in group(
        (r for r in rows if r.course and r.learner), lambda r: r.course).items()}
    per_learner = group((r for r in named if r.learner),
                        lambda r: (r.learner, r.course, r.lesson))
    done = {k for k, rs in per_learner.items()
            if _holds(rs, "lesson_completed", "lesson_uncompleted", f"completion of {k}")}
    liked = {k for k, rs in per_learner.items()
             if _holds(rs, "lesson_favorited", "lesson_unfavorited", f"favourite of {k}")}
    funnel = []
    for (course, lesson), rs in group((r for r in named if r.learner and r.course),
                                      lambda r: (r.course, r.lesson)).items():
        completed = len({r.learner for r in rs if (r.learner, course, lesson) in done})
        funnel.append((course, lesson,
                       _only({r.lesson_name for r in rs if r.lesson_name}, f"{lesson} name"),
                       _only({r.module for r in rs if r.module}, f"{lesson} module"),
                       completed, len({r.learner for r in rs if r.active}),
                       completed / course_learners[str(course)]))
    engagement = []
    for lesson, rs in group(named, lambda r: r.lesson).items():
        keys = {(r.learner, r.course, lesson) for r in rs if r.learner}
        ratings = [r.rating for r in rs if r.action == "lesson_rated"]
        given = [x for x in ratings if x is not None]
        engagement.append((lesson, len(keys & done), len(keys & liked), len(ratings),
                           sum(given) / len(given) if given else None,
                           sum(1 for r in rs if r.action == "comment_created")))
    return [
        Answer("lesson_funnel", ("course_key", "lesson_key", "lesson_name", "module_key",
                                 "learners_completed", "learners_seen",
                                 "share_of_course_learners"), funnel),
        Answer("lesson_engagement", ("lesson_key", "completions", "favorites", "ratings",
                                     "avg_rating", "comments"), engagement),
    ]
