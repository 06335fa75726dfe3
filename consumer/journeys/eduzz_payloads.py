"""AlpaClass and Nutror bodies in the Eduzz Webhook v3 envelope, shaped as the published
examples (tests/fixtures/alpaclass/*, nutror/*): same keys, same order, same value forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from consumer.journeys.catalogue import Course
from consumer.journeys.events import ZONE, Event

Body = dict[str, Any]
ALPACLASS = {
    "learner_registered": ("student_created",),
    "lesson_seen": ("student_lesson_last_seen", "student_lesson_last_seen_at"),
    "course_seen": ("student_course_last_seen", "student_course_last_seen_at"),
    "lesson_completed": ("student_lesson_finished",),
    "lesson_uncompleted": ("student_lesson_unfinished",),
    "module_completed": ("student_module_finished",),
    "module_uncompleted": ("student_module_unfinished",),
    "course_completed": ("student_course_finished",),
    "course_uncompleted": ("student_course_unfinished",),
    "lesson_favorited": ("student_lesson_marked_as_favorite",),
    "lesson_unfavorited": ("student_lesson_unmarked_as_favorite",),
    "comment_created": ("student_comment_created",),
    "certificate_viewed": ("student_certificate_accessed",),
}
NUTROR = {
    "enrolled": "enrollment_created", "lesson_started": "lesson_started",
    "lesson_completed": "lesson_watched", "module_completed": "module_completed",
    "lesson_favorited": "lesson_saved", "lesson_rated": "lesson_rated",
    "comment_created": "comment_created", "certificate_viewed": "certificate_viewed",
    "inactivity_flagged": "inactive_student", "file_downloaded": "file_downloaded",
    "community_viewed": "community_viewed", "note_created": "notation_created",
}
PRODUCER = "Fulano da Silva"
ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def event_id(rng: Random) -> str:
    """An Eduzz event id: 25 lower-case alphanumerics, like `lnzj8tmh47nblaxdbr8y0vdh`."""
    return "".join(rng.choices(ID_CHARS, k=25))


def sent_date(at: datetime) -> str:
    """`sentDate`: ISO-8601 UTC with milliseconds."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def alpaclass(e: Event, rng: Random, team: tuple[str, str]) -> Body:
    """An `alpaclass.*` body; the event time is `sentDate`."""
    kind = e.action if not e.known else "alpaclass." + rng.choice(ALPACLASS[e.action])
    data: Body = {} if e.progress is None else {"progress": e.progress}
    student: Body = {"id": e.learner.alpaclass_id, "name": e.learner.name,
                     "email": e.learner.sent_email("alpaclass")}
    if e.action == "learner_registered":
        student |= {"document": "123.456.789-00", "phone": "11999999999",
                    "createdAt": sent_date(e.at), "locale": "pt_BR"}
    data["student"] = student
    if e.lesson is not None:
        data["lesson"] = {"id": e.lesson.id, "name": e.lesson.name}
    if e.module is not None:
        data["module"] = {"id": e.module.id, "name": e.module.name}
    if e.course is not None:
        data["course"] = {"id": e.course.id, "name": e.course.name}
        team = (e.course.school_id, e.course.school_name)
    data["team"] = {"id": team[0], "name": team[1]}
    if e.action == "comment_created":
        data["comment"] = e.comment
    if e.action == "certificate_viewed":
        data["certificateUrl"] = f"https://certificados.alpaclass.com/{rng.getrandbits(32):x}.pdf"
    return {"id": event_id(rng), "event": kind, "sentDate": sent_date(e.at), "data": data}


def created_at(at: datetime, rng: Random) -> str:
    """Nutror `createdAt`: half zoneless local time (read in the Eduzz zone), half UTC `Z`,
    as the published examples mix them."""
    if rng.random() < 0.5:
        return at.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _course(c: Course) -> Body:
    return {"hash": c.id, "title": c.name}


def nutror(e: Event, rng: Random) -> Body:
    """A `nutror.*` body; the event time is `data.createdAt` (sentDate is when it was sent)."""
    assert e.course is not None, "every simulated Nutror event names a course"
    kind = e.action if not e.known else "nutror." + NUTROR[e.action]
    producer: Body = {"email": e.course.school_id, "name": PRODUCER}
    if not e.known:  # the historical milestone events carried the producer's numeric id
        producer = {"eduzzId": 12345, **producer}
    data: Body = {"producer": producer,
                  "learner": {"email": e.learner.sent_email("nutror"), "name": e.learner.name}}
    if e.action == "enrolled" or not e.known:
        data["content"] = _course(e.course)
        if not e.known:
            data["content"]["progress"] = 50
        data["courses"] = [_course(c) for c in e.courses]
    else:
        data["course"] = _course(e.course)
        if e.action == "inactivity_flagged":
            data["course"]["inactiveDays"] = rng.choice([7, 15, 30])
    if e.lesson is not None and e.known:
        data["lesson"] = {"id": e.lesson.id, "title": e.lesson.name}
        if e.rating is not None:
            data["lesson"]["rating"] = e.rating
    if e.module is not None:
        data["module"] = {"id": e.module.id, "title": e.module.name}
    data["createdAt"] = created_at(e.at, rng)
    sent = e.at + timedelta(seconds=rng.randint(1, 5))
    return {"id": event_id(rng), "event": kind, "data": data, "sentDate": sent_date(sent)}
