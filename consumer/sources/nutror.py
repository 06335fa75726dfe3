"""Nutror (`nutror.*`) events: typed payloads and their learning rows."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from consumer.rows import LearningRow
from consumer.sources.envelope import EduzzEvent
from consumer.sources.identity import Id, Meta, email, key, learner_key, timestamp

PLATFORM = "nutror"


class Person(msgspec.Struct, gc=False):
    email: str | None = None
    name: str | None = None


class Course(msgspec.Struct, gc=False):
    """Nutror courses are identified by a 40-hex `hash`; names arrive as `title`."""

    hash: Id
    title: str | None = None
    name: str | None = None
    inactiveDays: float | None = None


class Item(msgspec.Struct, gc=False):
    """A lesson or module."""

    id: Id
    title: str | None = None
    name: str | None = None
    rating: float | None = None


class Data(msgspec.Struct, gc=False, kw_only=True):
    """Every Nutror `data`; subclasses make required what their event always carries."""

    learner: Person
    producer: Person | None = None
    course: Course | None = None
    courses: list[Course] = []
    module: Item | None = None
    lesson: Item | None = None
    createdAt: str | None = None


class CourseData(Data, kw_only=True):
    course: Course


class LessonData(CourseData, kw_only=True):
    lesson: Item


class ModuleData(CourseData, kw_only=True):
    module: Item


class NutrorEvent(EduzzEvent, kw_only=True):
    data: Data
    action: ClassVar[str]

    def learning_rows(self, m: Meta) -> list[LearningRow]:
        """One row per course the event names (an enrolment may name several)."""
        d = self.data
        mail = email(d.learner.email)
        producer = email(d.producer.email) if d.producer else None
        module, lesson = d.module, d.lesson
        occurred = timestamp(d.createdAt, m.zone) or m.sent_at or m.received_at
        courses = [d.course] if d.course is not None else d.courses
        # A community or help event may name no course: it is still one row.
        targets = [(key(PLATFORM, c.hash), c.title or c.name) for c in courses] or [(None, None)]
        return [LearningRow(
            event_uid=m.event_uid, platform=PLATFORM, event_type=m.event_type,
            action=self.action, occurred_at=occurred, received_at=m.received_at,
            school_key=key(PLATFORM, producer),
            school_name=d.producer.name if d.producer else None,
            learner_key=learner_key(PLATFORM, mail, None), learner_id=None,
            learner_email=mail, learner_name=d.learner.name,
            course_key=course_key, course_name=course_name,
            module_key=key(PLATFORM, module.id) if module else None,
            module_name=(module.title or module.name) if module else None,
            lesson_key=key(PLATFORM, lesson.id) if lesson else None,
            lesson_name=(lesson.title or lesson.name) if lesson else None,
            rating=lesson.rating if lesson else None,
            kafka_partition=m.kafka_partition, kafka_offset=m.kafka_offset,
        ) for course_key, course_name in targets]


class CertificateViewed(NutrorEvent, tag="nutror.certificate_viewed"):
    data: CourseData
    action = "certificate_viewed"


class CommentCreated(NutrorEvent, tag="nutror.comment_created"):
    data: LessonData
    action = "comment_created"


class CommunityViewed(NutrorEvent, tag="nutror.community_viewed"):
    action = "community_viewed"


class EnrollmentCreated(NutrorEvent, tag="nutror.enrollment_created"):
    action = "enrolled"


class FileDownloaded(NutrorEvent, tag="nutror.file_downloaded"):
    action = "file_downloaded"


class InactiveStudent(NutrorEvent, tag="nutror.inactive_student"):
    data: CourseData
    action = "inactivity_flagged"


class LearnerHelp(NutrorEvent, tag="nutror.learner_help"):
    action = "help_requested"


class LessonRated(NutrorEvent, tag="nutror.lesson_rated"):
    data: LessonData
    action = "lesson_rated"


class LessonSaved(NutrorEvent, tag="nutror.lesson_saved"):
    data: LessonData
    action = "lesson_favorited"


class LessonStarted(NutrorEvent, tag="nutror.lesson_started"):
    data: LessonData
    action = "lesson_started"


class LessonWatched(NutrorEvent, tag="nutror.lesson_watched"):
    data: LessonData
    action = "lesson_completed"


class ModuleCompleted(NutrorEvent, tag="nutror.module_completed"):
    data: ModuleData
    action = "module_completed"


class NotationCreated(NutrorEvent, tag="nutror.notation_created"):
    action = "note_created"


EVENTS: tuple[type[NutrorEvent], ...] = (
    CertificateViewed, CommentCreated, CommunityViewed, EnrollmentCreated, FileDownloaded,
    InactiveStudent, LearnerHelp, LessonRated, LessonSaved, LessonStarted, LessonWatched,
    ModuleCompleted, NotationCreated,
)
