"""HTTP -> receiver -> real Kafka-protocol broker -> consumer -> real DuckDB -> views."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.conftest import fixture, post, source_of

SEED = ["alpaclass/student_lesson_unfinished", "alpaclass/student_module_unfinished",
        "alpaclass/student_lesson_last_seen", "nutror/module_completed",
        "toolzz/activities_course_completed"]
ALPA_COURSE = "alpaclass:046d47672cf6212d201d6e8b0c191e73"
NUTROR_COURSE = "nutror:4bba1d18c02755a13ee97521ae61958c3cf9e665"


def sha(name: str) -> str:
    return hashlib.sha256(fixture(name)).hexdigest()


async def post_all(base: str, names: list[str]) -> list[int]:
    statuses = []
    async with aiohttp.ClientSession() as http:
        for name in names:  # one at a time: arrival order is part of what is asserted
            statuses.append((await post(http, base, source_of(name), fixture(name)))[0])
    return statuses


async def test_five_seed_events_land_as_exact_rows(receiver, consumer):
    assert await post_all(receiver, SEED) == [200] * 5
    # The published lesson_last_seen example reuses lesson_unfinished's id
    # (4c832x3ynl8dwe7454941xzr5); event_uid is `eduzz:<id>`, so the first write wins
    # and the redelivered-looking copy is skipped: four distinct events.
    await consumer.wait_for_events(4)
    await consumer.stop()

    raw = consumer.rows("select event_uid, source, event_type, sent_at is null "
                        "from raw_events order by event_type")
    assert raw == [
        ("toolzz:sha256:" + sha("toolzz/activities_course_completed"), "toolzz",
         "activities.course.completed", False),
        ("eduzz:4c832x3ynl8dwe7454941xzr5", "eduzz", "alpaclass.student_lesson_unfinished",
         False),
        ("eduzz:sha256:" + sha("alpaclass/student_module_unfinished"), "eduzz",
         "alpaclass.student_module_unfinished", True),
        ("eduzz:lnzj8tmh47nblaxdbr8y0vdh", "eduzz", "nutror.module_completed", False),
    ]
    bodies = consumer.rows("select event_type, body from raw_events")
    for event_type, body in bodies:  # the body is kept exactly as received
        name = next(n for n in SEED if n.split("/")[1].replace("_", ".") in
                    event_type.replace("_", "."))
        assert body == fixture(name).decode()

    learning = consumer.rows("""select action, learner_key, course_key, occurred_at
                                from learning_events order by action""")
    module_unfinished_at = consumer.rows(
        "select received_at from raw_events where event_type like '%module_unfinished'")[0][0]
    assert learning == [
        ("course_completed", "student@toolzz.com", "toolzz:123456",
         datetime(2023, 7, 3, 15, 53, 41, tzinfo=UTC)),
        ("lesson_uncompleted", "fulano.s@gmail.com", ALPA_COURSE,
         datetime(2024, 6, 12, 12, 0, 10, tzinfo=UTC)),
        ("module_completed", "learner@eduzz.com", NUTROR_COURSE,
         datetime(2023, 9, 25, 19, 18, 29, tzinfo=UTC)),
        # no sentDate in the body: the event time is when the receiver got it
        ("module_uncompleted", "fulano.s@gmail.com", ALPA_COURSE, module_unfinished_at),
    ]
    assert consumer.rows("select count(*) from dead_letters") == [(0,)]

    funnel = consumer.rows("""select course_key, course_name, platform, learners, enrolled,
                                     started, completed_lesson, completed_module,
                                     completed_course
                              from course_funnel order by course_key""")
    assert funnel == [
        (ALPA_COURSE, "Princípios da Programação Orientada a Objetos", "alpaclass",
         1, 0, 1, 0, 0, 0),
        (NUTROR_COURSE, "Título do Curso", "nutror", 1, 0, 1, 0, 1, 0),
        ("toolzz:123456", "Course Name", "toolzz", 1, 0, 1, 0, 0, 1),
    ]
    progress = consumer.rows("""select learner_key, course_key, lessons_completed,
                                       modules_completed, course_completed
                                from learner_course_progress order by course_key""")
    assert progress == [
        ("fulano.s@gmail.com", ALPA_COURSE, 0, 0, False),
        ("learner@eduzz.com", NUTROR_COURSE, 0, 1, False),
        ("student@toolzz.com", "toolzz:123456", 0, 0, True),
    ]
    # Offsets: stored with the rows, and committed to the Kafka group for lag tools.
    stored = dict(consumer.rows("select kafka_partition, next_offset from consumer_offsets"))
    assert sum(stored.values()) == 5
    s = consumer.settings
    probe = AIOKafkaConsumer(bootstrap_servers=s.bootstrap, group_id=s.group,
                             enable_auto_commit=False)
    await probe.start()
    try:
        for partition, next_offset in stored.items():
            assert await probe.committed(TopicPartition(s.topic, partition)) == next_offset
    finally:
        await probe.stop()


async def test_dead_letter_is_stored_and_the_rest_of_the_batch_too(receiver, consumer):
    bad = fixture("nutror/module_completed").replace(
        b'"learner": {', b'"learner": ["not", "an", "object"], "was": {')
    good = fixture("toolzz/activities_course_completed")
    async with aiohttp.ClientSession() as http:
        for source, body in (("eduzz", bad), ("toolzz", good)):
            assert (await post(http, receiver, source, body))[0] == 200
    await consumer.wait_for_events(2)
    await consumer.stop()
    assert consumer.rows("select source, error_kind, error, body from dead_letters") == [
        ("eduzz", "invalid_event", "Expected `object`, got `array` - at `$.data.learner`", bad)]
    assert consumer.rows("select action from learning_events") == [("course_completed",)]
    assert consumer.rows("select count(*) from raw_events") == [(2,)]


async def test_restart_resumes_from_offsets_stored_in_duckdb(receiver, consumer_settings):
    """Under a new group (no Kafka offsets at all) a restarted consumer reads only what is
    new: it seeks to the offsets DuckDB stored with the rows."""
    import msgspec
    from aiokafka import AIOKafkaProducer

    from tests.conftest import RunningConsumer

    first = RunningConsumer(consumer_settings)
    await first.start()
    async with aiohttp.ClientSession() as http:
        for name in ("nutror/module_completed", "toolzz/activities_course_completed"):
            assert (await post(http, receiver, source_of(name), fixture(name)))[0] == 200
    # An undecodable record straight on the topic (the receiver would refuse it): a tag
    # error before a syntax error must be a dead letter, not a crash.
    producer = AIOKafkaProducer(bootstrap_servers=consumer_settings.bootstrap)
    await producer.start()
    await producer.send_and_wait(consumer_settings.topic, b'{"event": 5, "x": ',
                                 headers=[("source", b"eduzz")])
    await producer.stop()
    await first.wait_for_events(2)
    for _ in range(200):  # stored offsets, not messages read: a rebalance may re-read some
        if sum(first.store.offsets(consumer_settings.topic).values()) == 3:
            break
        await asyncio.sleep(0.05)
    await first.stop()
    assert sum(first.store.offsets(consumer_settings.topic).values()) == 3
    first.store.close()

    renamed = msgspec.structs.replace(consumer_settings, group=consumer_settings.group + "-new")
    second = RunningConsumer(renamed)
    await second.start()
    async with aiohttp.ClientSession() as http:
        status, _ = await post(http, receiver, "eduzz",
                               fixture("alpaclass/student_lesson_unfinished"))
        assert status == 200
    await second.wait_for_events(1)
    await second.stop()
    assert second.worker.consumed == 1  # not the three already stored
    assert second.rows("select count(*) from raw_events") == [(3,)]
    assert second.rows("select error_kind from dead_letters") == [("invalid_json",)]
    second.store.close()


async def test_store_failure_is_retried_then_persistent_failure_stops_the_consumer(
        receiver, consumer_settings):
    """A real DuckDB error (a table dropped under the consumer): the batch is retried with
    backoff and lands once the table is back; a failure that stays stops the consumer with
    the cause, having stored and committed nothing of that batch."""
    import msgspec

    from consumer.store import apply_schema
    from consumer.worker import StoreFailed
    from tests.conftest import RunningConsumer

    running = RunningConsumer(msgspec.structs.replace(consumer_settings, store_retries=2))
    await running.start()
    con = running.store._con  # the test reaches into the store only to break it for real

    def under_lock(*statements: str) -> None:  # the rebalance listener may be reading too
        with running.store._lock:
            for sql in statements:
                if sql == "schema":
                    apply_schema(con)
                else:
                    con.execute(sql)

    under_lock("drop view unknown_events", "drop table learning_events cascade")
    async with aiohttp.ClientSession() as http:
        assert (await post(http, receiver, "eduzz", fixture("nutror/module_completed")))[0] == 200
    await asyncio.sleep(0.8)  # the first attempt has failed by now
    assert running.worker.stored == 0
    under_lock("schema")  # the table is back: the next retry succeeds
    await running.wait_for_events(1)
    assert running.rows("select action from learning_events") == [("module_completed",)]

    under_lock("drop view unknown_events", "drop table learning_events cascade")
    async with aiohttp.ClientSession() as http:
        status, _ = await post(http, receiver, "toolzz",
                               fixture("toolzz/activities_course_completed"))
        assert status == 200
    assert running.task is not None
    with pytest.raises(StoreFailed, match="DuckDB write failed 3 times: Catalog Error"):
        await asyncio.wait_for(running.task, 30)
    under_lock("schema")
    assert running.rows("select count(*) from raw_events") == [(1,)]
    # Only the first event's offset: the failed batch committed nothing.
    assert sum(running.store.offsets(consumer_settings.topic).values()) == 1
    running.store.close()


async def test_fresh_store_under_a_used_group_reads_from_the_start(receiver, consumer_settings,
                                                                   tmp_path):
    """The group's commit belongs to whichever store the group fed before: a new DuckDB file
    under the same group must read the whole log, not resume from that commit."""
    import msgspec

    from tests.conftest import RunningConsumer

    first = RunningConsumer(consumer_settings)
    await first.start()
    async with aiohttp.ClientSession() as http:
        for name in ("nutror/module_completed", "toolzz/activities_course_completed"):
            assert (await post(http, receiver, source_of(name), fixture(name)))[0] == 200
    await first.wait_for_events(2)
    await first.stop()
    first.store.close()

    fresh = RunningConsumer(msgspec.structs.replace(consumer_settings,
                                                    data_dir=str(tmp_path / "fresh")))
    await fresh.start()
    await fresh.wait_for_events(2)
    await fresh.stop()
    assert fresh.rows("select count(*) from raw_events") == [(2,)]
    fresh.store.close()
