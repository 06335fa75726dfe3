"""AlpaClass (`alpaclass.*`) events: typed payloads and their learning rows."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from consumer.rows import LearningRow
from consumer.sources.envelope import EduzzEvent
from consumer.sources.identity import Id, Meta, email, ident, key, learner_key

PLATFORM = "alpaclass"


class Ref(msgspec.Struct, gc=False):
    """A course, module, lesson or team: an id and a display name (`name`, or `title`)."""

    id: Id
    name: str | None = None
    title: str | None = None

    @property
    def label(self) -> str | None:
        """The display name, whichever key carried it."""
        return self.name or self.title


class Student(msgspec.Struct, gc=False):
    id: Id | None = None
    name: str | None = None
    email: str | None = None


class Data(msgspec.Struct, gc=False, kw_only=True):
    """Every AlpaClass `data`; subclasses make required what their event always carries."""

    student: Student
    team: Ref | None = None
    course: Ref | None = None
    module: Ref | None = None
    lesson: Ref | None = None
    progress: float | None = None
    comment: str | None = None


class CourseData(Data, kw_only=True):
    course: Ref


class ModuleData(CourseData, kw_only=True):
    module: Ref


class LessonData(CourseData, kw_only=True):
    lesson: Ref


class AlpaClassEvent(EduzzEvent, kw_only=True):
    data: Data
    action: ClassVar[str]

    def learning_rows(self, m: Meta) -> list[LearningRow]:
        """One row: the learner, course, module and lesson the event names."""
        d = self.data
        st = d.student
        mail = email(st.email)
        return [LearningRow(
            event_uid=m.event_uid, platform=PLATFORM, event_type=m.event_type,
            action=self.action, occurred_at=m.sent_at or m.received_at,
            received_at=m.received_at,
            school_key=key(PLATFORM, d.team.id) if d.team else None,
            school_name=d.team.label if d.team else None,
            learner_key=learner_key(PLATFORM, mail, st.id), learner_id=ident(st.id),
            learner_email=mail, learner_name=st.name,
            course_key=key(PLATFORM, d.course.id) if d.course else None,
            course_name=d.course.label if d.course else None,
            module_key=key(PLATFORM, d.module.id) if d.module else None,
            module_name=d.module.label if d.module else None,
            lesson_key=key(PLATFORM, d.lesson.id) if d.lesson else None,
            lesson_name=d.lesson.label if d.lesson else None,
            progress=d.progress, comment=d.comment,
            kafka_partition=m.kafka_partition, kafka_offset=m.kafka_offset,
        )]


class StudentCreated(AlpaClassEvent, tag="alpaclass.student_created"):
    action = "learner_registered"


class CertificateAccessed(AlpaClassEvent, tag="alpaclass.student_certificate_accessed"):
    data: CourseData
    action = "certificate_viewed"


class CommentCreated(AlpaClassEvent, tag="alpaclass.student_comment_created"):
    data: LessonData
    action = "comment_created"


class CourseFinished(AlpaClassEvent, tag="alpaclass.student_course_finished"):
    data: CourseData
    action = "course_completed"


class CourseUnfinished(AlpaClassEvent, tag="alpaclass.student_course_unfinished"):
    data: CourseData
    action = "course_uncompleted"


class CourseLastSeenAt(AlpaClassEvent, tag="alpaclass.student_course_last_seen_at"):
    data: CourseData
    action = "course_seen"


class CourseLastSeen(CourseLastSeenAt, tag="alpaclass.student_course_last_seen"):
    """Second spelling of the same event (webhook-sources.md 4.1)."""


class ModuleFinished(AlpaClassEvent, tag="alpaclass.student_module_finished"):
    data: ModuleData
    action = "module_completed"


class ModuleUnfinished(AlpaClassEvent, tag="alpaclass.student_module_unfinished"):
    data: ModuleData
    action = "module_uncompleted"


class LessonFinished(AlpaClassEvent, tag="alpaclass.student_lesson_finished"):
    data: LessonData
    action = "lesson_completed"


class LessonUnfinished(AlpaClassEvent, tag="alpaclass.student_lesson_unfinished"):
    data: LessonData
    action = "lesson_uncompleted"


class LessonFavorited(AlpaClassEvent, tag="alpaclass.student_lesson_marked_as_favorite"):
    data: LessonData
    action = "lesson_favorited"


class LessonUnfavorited(AlpaClassEvent, tag="alpaclass.student_lesson_unmarked_as_favorite"):
    data: LessonData
    action = "lesson_unfavorited"


class LessonLastSeenAt(AlpaClassEvent, tag="alpaclass.student_lesson_last_seen_at"):
    data: LessonData
    action = "lesson_seen"


class LessonLastSeen(LessonLastSeenAt, tag="alpaclass.student_lesson_last_seen"):
    """Second spelling of the same event (webhook-sources.md 4.1)."""


EVENTS: tuple[type[AlpaClassEvent], ...] = (
    StudentCreated, CertificateAccessed, CommentCreated, CourseFinished, CourseUnfinished,
    CourseLastSeenAt, CourseLastSeen, ModuleFinished, ModuleUnfinished, LessonFinished,
    LessonUnfinished, LessonFavorited, LessonUnfavorited, LessonLastSeenAt, LessonLastSeen,
)
