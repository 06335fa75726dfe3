"""What the platforms really send (webhook-sources.md section 7): one test per quirk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from consumer.sources.decoder import Decoder, Message
from tests.conftest import fixture

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DECODER = Decoder({"eduzz": SAO_PAULO, "toolzz": SAO_PAULO})
RECEIVED = b"2024-07-01T12:00:00.000000Z"


def decode(body: bytes | dict, source: str = "eduzz", decoder: Decoder = DECODER,
           **headers: str):
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    hdrs = [("source", source.encode()), ("received_at", RECEIVED),
            *((k.replace("_", "-"), v.encode()) for k, v in headers.items())]
    return decoder.decode(Message(body, hdrs, 0, 1, 0))


def alpaclass(**changes) -> dict:
    body = json.loads(fixture("alpaclass/student_lesson_finished"))
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = body
        for p in parents:
            node = node[p]
        if value is ...:
            del node[leaf]
        else:
            node[leaf] = value
    return body


def test_ids_as_numbers_or_strings_are_the_same_id():
    as_text = decode(alpaclass(id="123", data__course__id="77", data__student__email=None))
    as_number = decode(alpaclass(id=123, data__course__id=77, data__student__email=None,
                                 data__student__id=int("457391")))
    assert as_text.raw.event_uid == as_number.raw.event_uid == "eduzz:123"
    assert as_text.learning[0].course_key == as_number.learning[0].course_key == "alpaclass:77"
    assert as_number.learning[0].learner_key == "alpaclass:457391"


def test_missing_id_and_sent_date_still_decode():
    out = decode(alpaclass(id=..., sentDate=...))
    assert out.dead is None and out.raw.event_uid.startswith("eduzz:sha256:")
    assert out.learning[0].occurred_at == datetime(2024, 7, 1, 12, tzinfo=UTC)


def test_name_or_title_whichever_is_sent():
    body = alpaclass()
    body["data"]["course"] = {"id": "c1", "title": "Titled course"}
    assert decode(body).learning[0].course_name == "Titled course"
    nutror = json.loads(fixture("nutror/lesson_watched"))
    nutror["data"]["lesson"] = {"id": 5, "name": "Named lesson"}
    assert decode(nutror).learning[0].lesson_name == "Named lesson"


def test_timestamps_with_and_without_zone():
    zoned = json.loads(fixture("nutror/lesson_watched"))
    zoned["data"]["createdAt"] = "2023-09-25T19:18:29Z"
    naive = json.loads(fixture("nutror/lesson_watched"))
    naive["data"]["createdAt"] = "2023-09-25 16:18:29"  # Sao Paulo, UTC-3 that day
    short = alpaclass(sentDate="2024-06-12T12:00:10.5Z")  # one fractional digit
    assert decode(zoned).learning[0].occurred_at == decode(naive).learning[0].occurred_at
    assert decode(short).learning[0].occurred_at == datetime(2024, 6, 12, 12, 0, 10, 500000,
                                                              tzinfo=UTC)


def test_zoneless_times_are_read_in_the_source_zone_setting():
    in_utc = Decoder({"eduzz": SAO_PAULO, "toolzz": ZoneInfo("UTC")})
    body = fixture("toolzz/activities_course_completed")  # send_at 2023-07-03 12:53:41
    assert decode(body, "toolzz").learning[0].occurred_at == datetime(
        2023, 7, 3, 15, 53, 41, tzinfo=UTC)
    assert decode(body, "toolzz", in_utc).learning[0].occurred_at == datetime(
        2023, 7, 3, 12, 53, 41, tzinfo=UTC)


def test_unreadable_timestamp_falls_back_instead_of_losing_the_event():
    out = decode(alpaclass(sentDate="yesterday"))
    assert out.dead is None
    assert out.learning[0].occurred_at == datetime(2024, 7, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("flag", [1, 0, True, False, None])
def test_one_and_zero_for_booleans(flag):
    body = json.loads(fixture("toolzz/activities_course_enrollment"))
    body["data"]["enrollment"]["actived"] = flag
    assert decode(body, "toolzz").dead is None


def test_optional_fields_absent_or_null_and_extra_fields_ignored():
    out = decode(alpaclass(data__team=None, data__module=..., data__brand_new={"x": [1]},
                           extra_top_level=True))
    (row,) = out.learning
    assert out.dead is None and row.school_key is None and row.module_key is None
    assert row.lesson_key is not None


def test_required_field_of_wrong_type_is_a_dead_letter_with_its_path():
    out = decode(alpaclass(data__student="Fulano"))
    assert out.dead.error == "Expected `object`, got `str` - at `$.data.student`"
    out = decode(alpaclass(data__course__id=[1]))
    assert out.dead.error == "Expected `int | str`, got `array` - at `$.data.course.id`"


def test_eduzz_ping_is_not_an_event():
    for body in (b'{"event": "ping"}', b'{"id": "p1", "event": "ping", "data": {}}'):
        out = decode(body)
        assert (out.raw, out.learning, out.commerce, out.dead) == (None, [], [], None)


def test_both_last_seen_spellings_map_to_one_action():
    for name in ("student_lesson_last_seen", "student_lesson_last_seen_at"):
        assert decode(fixture(f"alpaclass/{name}")).learning[0].action == "lesson_seen"
    course = json.loads(fixture("alpaclass/student_course_last_seen_at"))
    course["event"] = "alpaclass.student_course_last_seen"
    assert decode(course).learning[0].action == "course_seen"


TOOLZZ_BY_HAND = {  # slugs without a published example, built from webhook-sources.md 5.7
    "activities.content.completed": (
        {"user": {"id": 9, "name": "Ana", "email": "Ana@X.com"},
         "content": {"id": 1, "institution_id": 50, "school_id": 3, "course_id": 7,
                     "lesson_id": 70, "delivered": 1, "points": None},
         "course": {"id": 7, "name": "Course 7", "certificate_id": None, "progress": 40}},
        ("lesson_completed", "ana@x.com", "toolzz:7", "toolzz:70", "toolzz:50", 40.0)),
    "activities.answered.activity": (
        {"institution": {"id": 50}, "user": {"id": 9, "name": "Ana", "email": "ana@x.com"},
         "course": {"id": 7, "name": "Course 7"},
         "content": {"id": 2, "type": 10, "answer": "/files/a.pdf", "content_delivery": 1}},
        ("activity_answered", "ana@x.com", "toolzz:7", None, "toolzz:50", None)),
    "activities.certificate.issued": (
        {"institution": {"id": 50}, "user": {"id": 9, "email": "ana@x.com", "cpf": "1"},
         "course": {"id": 7, "name": "C", "workload": "10h", "enrolled_at": "2024-01-01",
                    "concluded_at": "2024-02-01"},
         "school": {"id": 3, "name": "S", "managers": [{"manager_id": 1, "manager_name": "M"}]},
         "certificate": {"certified_at": "2024-02-01", "type": "achievement",
                         "approval_rate": 90}},
        ("certificate_issued", "ana@x.com", "toolzz:7", None, "toolzz:50", None)),
    "members.created": (
        {"user": {"id": 9, "name": "Ana", "email": None,
                  "institution": [{"id": 50, "schools": [{"id": 3, "role_id": 4}]}],
                  "address": {"cep": "1", "uf": "SP"}, "phone": "+55"},
         "formulario_respostas": [{"qual_sua_cor_favorita": "azul"}]},
        ("learner_registered", "toolzz:9", None, None, "toolzz:50", None)),
    "shop.product.redemption": (
        {"user": {"id": "9", "name": "Ana", "email": "ana@x.com"},
         "redemption": {"id": "4", "exchange_date": "2024-01-01", "quantity": "1",
                        "total_payment": "100", "institution": {"id": "50", "name": "I"},
                        "school": {"id": "3", "name": "S"},
                        "product": {"id": "8", "name": "Mug", "price": "100"}}},
        ("product_redeemed", "ana@x.com", None, None, "toolzz:50", None)),
}


@pytest.mark.parametrize("slug", sorted(TOOLZZ_BY_HAND))
def test_toolzz_slugs_without_a_published_example(slug):
    data, expected = TOOLZZ_BY_HAND[slug]
    out = decode({"event": {"name": "x", "slug": slug, "send_at": "2024-03-01 10:00:00"},
                  "data": data}, "toolzz")
    assert out.dead is None, out.dead
    (row,) = out.learning
    assert (row.action, row.learner_key, row.course_key, row.lesson_key, row.school_key,
            row.progress) == expected
    assert row.occurred_at == datetime(2024, 3, 1, 13, tzinfo=UTC)


def test_toolzz_newsletter_both_spellings_and_trail_courses():
    body = json.loads(fixture("toolzz/newslatter_created"))
    assert decode(body, "toolzz").learning[0].action == "newsletter_accepted"
    body["event"]["slug"] = "newsletter.created"
    assert decode(body, "toolzz").learning[0].action == "newsletter_accepted"
    trail = json.loads(fixture("toolzz/activities_trail_completed"))
    trail["data"]["trail"]["courses"].append({"id": 99, "title": "Second"})
    rows = decode(trail, "toolzz").learning
    assert [(r.course_key, r.course_name) for r in rows] == [
        ("toolzz:123456", "Course Name"), ("toolzz:99", "Second")]


def test_nutror_enrolment_gives_one_row_per_course():
    body = json.loads(fixture("nutror/enrollment_created"))
    body["data"]["courses"].append({"hash": "abc", "title": "Other"})
    rows = decode(body).learning
    assert [r.course_key for r in rows][-1] == "nutror:abc"
    assert len({r.event_uid for r in rows}) == 1 and len(rows) == len(body["data"]["courses"])


def test_contract_without_envelope_takes_its_event_from_x_subscription():
    enveloped = json.loads(fixture("myeduzz/contract_created"))
    bare = json.dumps(enveloped["data"]).encode()  # as the platform's docs publish it
    out = decode(bare, x_subscription="lk354pklutdkh2ii7s7008qfy:myeduzz.contract_created")
    assert out.dead is None and out.raw.event_type == "myeduzz.contract_created"
    assert out.raw.body == bare.decode()  # stored exactly as received
    (row,) = out.commerce
    assert (row.contract_id, row.buyer_key, row.status) == ("3456", "testeeduzzqa@eduzz.com",
                                                            "upToDate")
    # Without the header it cannot be named: kept as an unknown event, not lost.
    unnamed = decode(bare)
    assert unnamed.raw.event_type is None and unnamed.dead is None and unnamed.commerce == []
    # A bare body whose fields are wrong is a dead letter under the subscribed name.
    broken = dict(enveloped["data"], contract="not an object")
    out = decode(json.dumps(broken).encode(), x_subscription="x:myeduzz.contract_created")
    assert out.dead.error == "Expected `object`, got `str` - at `$.data.contract`"
    assert out.raw.event_type == "myeduzz.contract_created"


def test_money_is_decimal_and_an_unstorable_amount_is_a_dead_letter():
    body = fixture("myeduzz/invoice_paid")
    (row,) = decode(body).commerce
    assert str(row.amount) == "301.5"
    huge = body.replace(b'"value": 301.5', b'"value": 1.5e400', 1)
    out = decode(huge)
    assert out.dead.error == "amount 1.5E+400 does not fit DECIMAL(18, 2) - at `$.data.price`"
    assert out.raw is not None
