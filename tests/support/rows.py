"""Hand-made store rows: a raw event, its learning rows and a batch of them, at T0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumer.rows import Batch, Decoded, LearningRow, RawRow

T0 = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


def raw(uid: str, offset: int, partition: int = 0) -> RawRow:
    return RawRow(uid, "eduzz", "alpaclass.x", T0, None, '{"id": 1}', partition, offset)


def learn(uid: str, offset: int, action: str, minutes: int = 0, *, lesson: str | None = None,
          module: str | None = None, learner: str = "a@x.com", course: str = "alpaclass:c1",
          partition: int = 0, progress: float | None = None) -> LearningRow:
    return LearningRow(uid, "alpaclass", "alpaclass.x", action, T0 + timedelta(minutes=minutes),
                       T0, learner_key=learner, course_key=course, course_name="Course One",
                       lesson_key=lesson, module_key=module, progress=progress,
                       kafka_partition=partition, kafka_offset=offset)


def batch_of(*events: tuple[RawRow, list[LearningRow]]) -> Batch:
    b = Batch()
    for r, rows in events:
        b.add(r.kafka_partition, r.kafka_offset, Decoded(r, rows, [], None))
    return b
