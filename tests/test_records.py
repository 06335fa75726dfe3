"""Decoding and mapping, pure: bytes and headers in, rows out. No broker, no DuckDB."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from consumer.sources.decoder import Decoder, Message
from consumer.sources.identity import event_uid
from tests.conftest import fixture, source_of

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
RECEIVED = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
DECODER = Decoder({"eduzz": SAO_PAULO, "toolzz": SAO_PAULO})


def decode(body: bytes, source: str = "eduzz", offset: int = 7):
    headers = [("source", source.encode()), ("received_at", b"2024-07-01T12:00:00.000000Z")]
    return DECODER.decode(Message(body, headers, 2, offset, 0))


# The five seed events: (fixture, event_type, action, learner_key, course_key, occurred_at)
SEED = [
    ("alpaclass/student_lesson_unfinished", "alpaclass.student_lesson_unfinished",
     "lesson_uncompleted", "fulano.s@gmail.com", "alpaclass:046d47672cf6212d201d6e8b0c191e73",
     datetime(2024, 6, 12, 12, 0, 10, tzinfo=UTC)),
    # Published without id and sentDate: occurred_at falls back to received_at.
    ("alpaclass/student_module_unfinished", "alpaclass.student_module_unfinished",
     "module_uncompleted", "fulano.s@gmail.com", "alpaclass:046d47672cf6212d201d6e8b0c191e73",
     RECEIVED),
    ("alpaclass/student_lesson_last_seen", "alpaclass.student_lesson_last_seen",
     "lesson_seen", "fulano.s@gmail.com", "alpaclass:046d47672cf6212d201d6e8b0c191e73",
     datetime(2024, 6, 12, 12, 0, 10, tzinfo=UTC)),
    # Nutror's own event time is data.createdAt, not sentDate.
    ("nutror/module_completed", "nutror.module_completed", "module_completed",
     "learner@eduzz.com", "nutror:4bba1d18c02755a13ee97521ae61958c3cf9e665",
     datetime(2023, 9, 25, 19, 18, 29, tzinfo=UTC)),
    # Toolzz send_at has no zone: read in America/Sao_Paulo (UTC-3 in July 2023).
    ("toolzz/activities_course_completed", "activities.course.completed", "course_completed",
     "student@toolzz.com", "toolzz:123456", datetime(2023, 7, 3, 15, 53, 41, tzinfo=UTC)),
]


@pytest.mark.parametrize(("name", "event_type", "action", "learner", "course", "occurred"), SEED,
                         ids=[s[0] for s in SEED])
def test_seed_events_map_to_their_action(name, event_type, action, learner, course, occurred):
    out = decode(fixture(name), source_of(name))
    assert out.dead is None
    assert out.raw is not None and out.raw.event_type == event_type
    assert out.raw.body == fixture(name).decode()
    assert [(r.action, r.learner_key, r.course_key, r.occurred_at) for r in out.learning] == [
        (action, learner, course, occurred)]
    assert out.learning[0].kafka_partition == 2 and out.learning[0].kafka_offset == 7


def test_alpaclass_row_carries_every_key():
    (row,) = decode(fixture("alpaclass/student_lesson_unfinished")).learning
    assert row.platform == "alpaclass"
    assert row.school_key == "alpaclass:16943848cc6495142a8e3011d0173252"
    assert row.school_name == "Escola de Beltrano"
    assert row.learner_id == "457391c9c82bfdcbb4947278c0401e41"
    assert row.learner_name == "Fulano da Silva"
    assert row.module_key == "alpaclass:22884db148f0ffb0d830ba431102b0b5"
    assert row.lesson_key == "alpaclass:6220a030be5f7a8c4760d3e9b4d5d9ee"
    assert row.lesson_name == "A história do POO"
    assert row.progress == 50


def test_nutror_school_is_the_producer_email():
    (row,) = decode(fixture("nutror/module_completed")).learning
    assert row.school_key == "nutror:fulano@eduzz.com"
    assert (row.module_key, row.lesson_key) == ("nutror:3253", "nutror:3866")
    assert row.module_name == "Modulo2"


def test_event_uid_rules():
    body = fixture("alpaclass/student_module_unfinished")
    assert decode(fixture("nutror/module_completed")).raw.event_uid == \
        "eduzz:lnzj8tmh47nblaxdbr8y0vdh"
    assert decode(body).raw.event_uid == f"eduzz:sha256:{hashlib.sha256(body).hexdigest()}"
    toolzz = fixture("toolzz/activities_course_completed")
    assert decode(toolzz, "toolzz").raw.event_uid == \
        f"toolzz:sha256:{hashlib.sha256(toolzz).hexdigest()}"
    assert event_uid("eduzz", 123, b"{}") == event_uid("eduzz", "123", b"{}") == "eduzz:123"


def test_sent_at_is_null_when_absent():
    assert decode(fixture("alpaclass/student_module_unfinished")).raw.sent_at is None
    assert decode(fixture("alpaclass/student_lesson_unfinished")).raw.sent_at == \
        datetime(2024, 6, 12, 12, 0, 10, tzinfo=UTC)


def test_known_event_with_wrong_type_is_a_dead_letter_with_the_path():
    body = fixture("alpaclass/student_lesson_unfinished").replace(
        b'"student": {', b'"student": "oops", "x": {')
    out = decode(body)
    assert out.learning == []
    assert out.dead is not None and out.dead.error_kind == "invalid_event"
    assert out.dead.error == "Expected `object`, got `str` - at `$.data.student`"
    assert out.dead.body == body and (out.dead.kafka_partition, out.dead.kafka_offset) == (2, 7)
    # Still kept in the lossless record, so a later fix can replay it.
    assert out.raw is not None and out.raw.event_type == "alpaclass.student_lesson_unfinished"


def test_toolzz_dead_letter_path_is_from_the_body_root():
    out = decode(b'{"event": {"slug": "activities.course.completed"}, "data": {"user": 3}}',
                 "toolzz")
    assert out.dead is not None
    assert out.dead.error == "Expected `object`, got `int` - at `$.data.user`"


@pytest.mark.parametrize(("body", "source"), [
    (b'{"event": "nutror.complete_lesson_50", "data": {"x": 1}}', "eduzz"),
    (b'{"event": {"slug": "members.disabled", "send_at": "2024-01-01 10:00:00"}, "data": {}}',
     "toolzz"),
])
def test_unknown_event_types_are_kept_raw_not_dead(body, source):
    out = decode(body, source)
    assert out.dead is None and out.learning == []
    assert out.raw is not None and out.raw.body == body.decode()


@pytest.mark.parametrize(("body", "kind"), [
    (b"not json", "invalid_json"),
    (b"[1, 2]", "invalid_envelope"),
    (b"\xff\xfe", "invalid_json"),
])
def test_undecodable_bodies_are_dead_letters_without_raw_row(body, kind):
    out = decode(body)
    assert out.raw is None and out.dead is not None and out.dead.error_kind == kind


def test_message_without_source_header_is_a_dead_letter():
    out = DECODER.decode(Message(b"{}", [], 0, 0, 1_700_000_000_000))
    assert out.dead is not None and out.dead.error_kind == "unknown_source"
    assert out.dead.received_at == datetime.fromtimestamp(1_700_000_000, UTC)


def test_toolzz_known_slug_with_a_bad_envelope_field_is_a_dead_letter():
    out = decode(b'{"event": {"slug": "activities.course.completed", "send_at": 5}, "data": {}}',
                 "toolzz")
    assert out.dead is not None
    assert out.dead.error == "Expected `str | null`, got `int` - at `$.event.send_at`"
    assert out.raw is not None and out.raw.event_type == "activities.course.completed"
