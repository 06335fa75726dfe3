"""Toolzz LMS events: `{event: {slug, send_at, ...}, data}`, dispatched on `event.slug`.

msgspec tagged unions need the tag at the top level, and Toolzz nests it in `event`, so the
envelope keeps `data` raw and one decoder per slug (built once, below) types it.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from consumer.rows import LearningRow
from consumer.sources.identity import Id, Meta, email, ident, key, learner_key

PLATFORM = "toolzz"
Flag = bool | int | None  # documented as booleans, sent as 1/0


class EventInfo(msgspec.Struct, gc=False):
    slug: str
    name: str | None = None
    send_at: str | None = None  # "yyyy-MM-dd HH:mm:ss", no zone


class Envelope(msgspec.Struct, gc=False):
    event: EventInfo
    data: msgspec.Raw = msgspec.Raw(b"null")  # absent: the slug's decoder reports it


class Ref(msgspec.Struct, gc=False):
    """An institution, school, course or trail; trail courses use `title`, others `name`."""

    id: Id
    name: str | None = None
    title: str | None = None


class User(msgspec.Struct, gc=False, kw_only=True):
    id: Id | None = None
    name: str | None = None
    email: str | None = None
    institution: list[Ref] = []  # members.* and newsletter: the user's institutions


class Target(NamedTuple):
    """What one row is about: a course, optionally a lesson, with the progress sent."""

    course: Ref | None = None
    lesson: Id | None = None
    progress: float | None = None


class Data(msgspec.Struct, gc=False, kw_only=True):
    """Every Toolzz `data` names a user; subclasses add what their slug carries."""

    user: User
    institution: Ref | None = None

    def school(self) -> Ref | None:
        """The institution the event belongs to (data-model.md: Toolzz school = institution)."""
        if self.institution is not None:
            return self.institution
        return self.user.institution[0] if self.user.institution else None

    def targets(self) -> list[Target]:
        """The courses (and lesson) the event is about; one row each."""
        return [Target()]

    def learning_rows(self, m: Meta, action: str) -> list[LearningRow]:
        """One row per target, for the user, at `send_at` read in the Toolzz zone."""
        user, school = self.user, self.school()
        mail = email(user.email)
        return [LearningRow(
            event_uid=m.event_uid, platform=PLATFORM, event_type=m.event_type, action=action,
            occurred_at=m.sent_at or m.received_at, received_at=m.received_at,
            school_key=key(PLATFORM, school.id) if school else None,
            school_name=school.name if school else None,
            learner_key=learner_key(PLATFORM, mail, user.id), learner_id=ident(user.id),
            learner_email=mail, learner_name=user.name,
            course_key=key(PLATFORM, t.course.id) if t.course else None,
            course_name=(t.course.name or t.course.title) if t.course else None,
            lesson_key=key(PLATFORM, t.lesson), progress=t.progress,
            kafka_partition=m.kafka_partition, kafka_offset=m.kafka_offset,
        ) for t in self.targets() or [Target()]]


class Enrollment(msgspec.Struct, gc=False):
    id: Id | None = None
    course_id: Id | None = None
    date_expire: str | None = None
    actived: Flag = None
    status: int | str | None = None


class CourseData(Data, kw_only=True):
    """`activities.course.enrollment` / `.completed`."""

    course: Ref
    enrollment: Enrollment | None = None

    def targets(self) -> list[Target]:
        return [Target(self.course)]


class Content(msgspec.Struct, gc=False, kw_only=True):
    id: Id | None = None
    institution_id: Id | None = None
    course_id: Id | None = None
    lesson_id: Id | None = None
    delivered: Flag = None


class ContentCourse(Ref, kw_only=True):
    progress: float | None = None  # completion percentage of the course


class ContentData(Data, kw_only=True):
    """`activities.content.completed`: the lesson is `content.lesson_id`; no institution object."""

    content: Content
    course: ContentCourse

    def school(self) -> Ref | None:
        inst = self.content.institution_id
        return Ref(inst) if inst is not None else super().school()

    def targets(self) -> list[Target]:
        return [Target(self.course, self.content.lesson_id, self.course.progress)]


class ActivityData(Data, kw_only=True):
    """`activities.answered.activity` and `activities.certificate.issued`."""

    course: Ref

    def targets(self) -> list[Target]:
        return [Target(self.course)]


class Trail(msgspec.Struct, gc=False, kw_only=True):
    id: Id
    name: str | None = None
    courses: list[Ref] = []


class TrailData(Data, kw_only=True):
    """`activities.trail.completed`: one row per course of the trail, like an enrolment."""

    trail: Trail

    def targets(self) -> list[Target]:
        return [Target(course) for course in self.trail.courses]


class Redemption(msgspec.Struct, gc=False, kw_only=True):
    id: Id | None = None
    institution: Ref | None = None  # every value of this event is a string, ids included


class RedemptionData(Data, kw_only=True):
    """`shop.product.redemption`: the institution sits inside `redemption`."""

    redemption: Redemption

    def school(self) -> Ref | None:
        return self.redemption.institution or super().school()


class Slug(NamedTuple):
    """How one slug decodes and which canonical action it maps to."""

    decoder: msgspec.json.Decoder[Data]
    action: str


def _slug(data: type[Data], action: str) -> Slug:
    return Slug(msgspec.json.Decoder(data), action)


ENVELOPE = msgspec.json.Decoder(Envelope)
SLUGS: dict[str, Slug] = {
    "activities.course.enrollment": _slug(CourseData, "enrolled"),
    "activities.course.completed": _slug(CourseData, "course_completed"),
    "activities.content.completed": _slug(ContentData, "lesson_completed"),
    "activities.answered.activity": _slug(ActivityData, "activity_answered"),
    "activities.certificate.issued": _slug(ActivityData, "certificate_issued"),
    "activities.trail.completed": _slug(TrailData, "trail_completed"),
    "members.created": _slug(Data, "learner_registered"),
    "members.updated": _slug(Data, "learner_updated"),
    "newslatter.created": _slug(Data, "newsletter_accepted"),  # sic, as Toolzz sends it
    "newsletter.created": _slug(Data, "newsletter_accepted"),  # the spelling it may be fixed to
    "shop.product.redemption": _slug(RedemptionData, "product_redeemed"),
}
