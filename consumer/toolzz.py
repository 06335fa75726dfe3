"""Toolzz LMS events: `{event: {slug, send_at, ...}, data}`, dispatched on `event.slug`."""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from consumer.identity import Id, Meta, email, ident, key, learner_key
from consumer.rows import LearningRow

PLATFORM = "toolzz"


class EventInfo(msgspec.Struct):
    slug: str
    name: str | None = None
    send_at: str | None = None  # "yyyy-MM-dd HH:mm:ss", no zone


class Envelope(msgspec.Struct):
    """The slug sits inside `event`, so `data` is kept raw and decoded by the slug's type."""

    event: EventInfo
    data: msgspec.Raw = msgspec.Raw(b"null")  # absent: the slug's decoder reports it


class Ref(msgspec.Struct):
    id: Id
    name: str | None = None
    title: str | None = None


class User(msgspec.Struct):
    id: Id | None = None
    name: str | None = None
    email: str | None = None


class CourseData(msgspec.Struct, kw_only=True):
    """`activities.course.enrollment` / `.completed`: institution, course, enrollment, user."""

    user: User
    course: Ref
    institution: Ref | None = None

    def learning_rows(self, m: Meta, action: str) -> list[LearningRow]:
        """One row for the user on the course."""
        mail = email(self.user.email)
        return [LearningRow(
            event_uid=m.event_uid, platform=PLATFORM, event_type=m.event_type, action=action,
            occurred_at=m.sent_at or m.received_at, received_at=m.received_at,
            school_key=key(PLATFORM, self.institution.id) if self.institution else None,
            school_name=self.institution.name if self.institution else None,
            learner_key=learner_key(PLATFORM, mail, self.user.id),
            learner_id=ident(self.user.id), learner_email=mail, learner_name=self.user.name,
            course_key=key(PLATFORM, self.course.id),
            course_name=self.course.name or self.course.title,
            kafka_partition=m.kafka_partition, kafka_offset=m.kafka_offset,
        )]


class Slug(NamedTuple):
    """How one slug decodes and which canonical action it maps to."""

    decoder: msgspec.json.Decoder[CourseData]
    action: str


ENVELOPE = msgspec.json.Decoder(Envelope)
SLUGS: dict[str, Slug] = {
    "activities.course.enrollment": Slug(msgspec.json.Decoder(CourseData), "enrolled"),
    "activities.course.completed": Slug(msgspec.json.Decoder(CourseData), "course_completed"),
}
