"""A log that restarts empty (in-memory broker restarted, topic deleted and recreated) is
found by its end offset and read from its start, even when it is shorter than the stored
offsets: the broker answers a fetch past its end with an empty batch, not an error, so the
fingerprint check alone would wait for a record that never comes (issue 15)."""

from __future__ import annotations

import asyncio
import json
import logging

import msgspec
from aiokafka import AIOKafkaProducer

from consumer.ops.broker import EmbeddedBroker
from consumer.store import Store
from consumer.worker import ensure_topic
from tests.conftest import RunningConsumer, fixture


def bodies(prefix: str, count: int) -> list[bytes]:
    """`count` distinct Nutror events (distinct ids, so distinct event_uids)."""
    base = json.loads(fixture("nutror/module_completed"))
    return [json.dumps({**base, "id": f"{prefix}-{i}"}).encode() for i in range(count)]


async def publish(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i, value in enumerate(values):  # keys spread them over the partitions
            await producer.send_and_wait(topic, value, key=f"learner-{i}".encode(),
                                         headers=[("source", b"eduzz")])
    finally:
        await producer.stop()


def new_logs(running: RunningConsumer) -> float:
    return sum(s.value for m in running.worker.metrics.new_logs.collect() for s in m.samples
               if s.name.endswith("_total"))


async def test_stored_offsets_far_ahead_of_a_fresh_log_read_it_from_the_start(
        consumer_settings, caplog):
    """140 acknowledged webhooks never stored, as seen: offsets stored by an older log lie
    beyond the end of this one. With a fingerprint (seek one back) and without one."""
    caplog.set_level(logging.INFO)
    topic = consumer_settings.topic
    store = Store(consumer_settings.db_path)
    store.query("insert into consumer_offsets values ($1, 0, 5000, now(), $2), "
                "($1, 1, 140, now(), null), ($1, 2, 1000000, now(), $2)", [topic, "ab" * 32])
    store.close()
    await ensure_topic(consumer_settings.bootstrap, topic, 3)
    values = bodies("fresh", 60)
    await publish(consumer_settings.bootstrap, topic, values)

    running = RunningConsumer(consumer_settings)
    await running.start()
    try:
        await running.wait_for_events(60, timeout=30)
        for _ in range(100):  # the offsets of the last batch are stored with it
            if sum(running.store.offsets(topic).values()) == 60:
                break
            await asyncio.sleep(0.05)
    finally:
        await running.stop()
    assert running.rows("select count(*) from raw_events") == [(60,)]
    assert sum(running.store.offsets(topic).values()) == 60  # the new log's own offsets
    assert new_logs(running) == 3
    found = [r.getMessage() for r in caplog.records if "is a new log" in r.getMessage()]
    assert len(found) == 3, found
    running.store.close()


async def test_in_memory_broker_restarted_under_a_running_consumer(consumer_settings, topic):
    """The consumer stored 40 events; the broker restarts empty and 25 new ones arrive,
    fewer than the stored offsets: all 65 end up stored."""
    own = EmbeddedBroker().start()
    settings = msgspec.structs.replace(consumer_settings, bootstrap=own.bootstrap)
    running = RunningConsumer(settings)
    try:
        await ensure_topic(own.bootstrap, topic, 3)
        await running.start()
        await publish(own.bootstrap, topic, bodies("before", 40))
        await running.wait_for_events(40, timeout=30)
        own.stop()
        own.start()  # same port, empty
        await ensure_topic(own.bootstrap, topic, 3)
        await publish(own.bootstrap, topic, bodies("after", 25))
        await running.wait_for_events(65, timeout=60)
    finally:
        await running.stop()
        own.stop()
    assert running.rows("select count(*) from raw_events") == [(65,)]
    assert new_logs(running) >= 1
    running.store.close()
