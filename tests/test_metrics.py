"""`GET /metrics` on the receiver and the consumer count exactly what happened; INFO logs
say one line per batch, never one per event."""

from __future__ import annotations

import asyncio
import logging
import math
import time

import aiohttp
import msgspec
from prometheus_client.parser import text_string_to_metric_families

from consumer import metrics
from consumer.metrics import ConsumerMetrics
from consumer.ops.broker import free_port
from consumer.worker import ensure_topic
from tests.conftest import RunningConsumer, fixture, post, serving, signed, source_of

DISTINCT = ["alpaclass/student_lesson_finished", "nutror/module_completed",
            "myeduzz/invoice_paid", "sun/cart_abandonment", "blinket/attendance_added",
            "toolzz/activities_course_completed", "toolzz/activities_course_enrollment"]
# Same id as student_lesson_finished (the published examples share it): a redelivery.
DUPLICATE = "alpaclass/student_course_finished"
DEAD = fixture("nutror/lesson_watched").replace(b'"learner": {', b'"learner": [1], "x": {')

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: aiohttp.ClientSession, url: str) -> Samples:
    """Every sample of a /metrics page, keyed by (name, sorted labels)."""
    async with http.get(url + "/metrics") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        text = await resp.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_counters_move_by_exactly_what_was_posted(broker, topic, ingest_settings,
                                                        consumer_settings, caplog):
    await ensure_topic(broker.bootstrap, topic, 3)
    # No snapshots: their INFO lines would join the batch lines on a slow run.
    consumer = RunningConsumer(msgspec.structs.replace(consumer_settings, snapshot_interval=0))
    await consumer.start()
    port = free_port()
    runner = await metrics.serve(consumer.worker.metrics, port, lambda: consumer.worker.running)
    consumer_url = f"http://127.0.0.1:{port}"
    try:
        async with serving(ingest_settings) as url, aiohttp.ClientSession() as http:
            # Posting only once every partition was fetched: records polled while the group
            # assigns partitions can be read twice (stored once), which would move the
            # duplicates counter by more than this test posts.
            deadline = time.monotonic() + 30
            while sum(k[0] == "learnstream_consumer_lag" for k in await scrape(
                    http, consumer_url)) < 3:
                assert time.monotonic() < deadline, "partitions never assigned"
                await asyncio.sleep(0.1)
            caplog.set_level(logging.INFO)
            caplog.clear()  # from here on: only what handling the events logs
            for name in [*DISTINCT[:5], DUPLICATE, *DISTINCT[5:]]:
                assert (await post(http, url, source_of(name), fixture(name)))[0] == 200
            assert (await post(http, url, "eduzz", DEAD))[0] == 200
            path, headers = signed("eduzz", DEAD, secret="not-the-secret")
            async with http.post(url + path, data=DEAD, headers=headers) as resp:
                assert resp.status == 401
            receiver = await scrape(http, url)
            deadline = time.monotonic() + 30
            while True:  # until all 9 messages are stored and the lag was measured after
                got = await scrape(http, consumer_url)
                lags = {k: v for k, v in got.items() if k[0] == "learnstream_consumer_lag"}
                if value(got, "learnstream_batch_messages_sum") == 9 and len(lags) == 3 and (
                        not any(lags.values())):
                    break
                assert time.monotonic() < deadline, (got, lags)
                await asyncio.sleep(0.1)
            logged = list(caplog.records)  # before the stop's lifecycle lines
            async with http.get(consumer_url + "/healthz") as resp:
                assert resp.status == 200
        await consumer.stop()
        assert consumer.rows("select count(*) from raw_events") == [(8,)]
    finally:
        await runner.cleanup()
        consumer.store.close()

    requests = "learnstream_webhook_requests_total"
    assert value(receiver, requests, source="eduzz", status="200") == 7
    assert value(receiver, requests, source="toolzz", status="200") == 2
    assert value(receiver, requests, source="eduzz", status="401") == 1
    assert sum(v for (n, _), v in receiver.items() if n == requests) == 10
    assert value(receiver, "learnstream_signature_failures_total", source="eduzz") == 1
    assert value(receiver, "learnstream_publish_seconds_count") == 9

    consumed = {dict(labels)["source"] + "/" + dict(labels)["action"]: v
                for (n, labels), v in got.items() if n == "learnstream_events_consumed_total"}
    assert consumed == {"eduzz/lesson_completed": 1, "eduzz/module_completed": 1,
                        "eduzz/course_completed": 1, "eduzz/commerce": 3,
                        "toolzz/course_completed": 1, "toolzz/enrolled": 1}
    assert value(got, "learnstream_events_stored_total") == 8  # the dead letter's raw row too
    assert value(got, "learnstream_duplicates_total") == 1
    assert value(got, "learnstream_dead_letters_total", source="eduzz",
                 kind="invalid_event") == 1
    batches = value(got, "learnstream_batch_messages_count")
    assert 1 <= batches <= 9
    assert value(got, "learnstream_insert_seconds_count") == batches

    # One INFO line per batch, none per event; the receiver says nothing at INFO per request.
    info = [r for r in logged if r.levelno == logging.INFO
            and r.name.split(".")[0] in ("ingest", "consumer") and r.name != "consumer.resume"]
    assert [r.getMessage().split(":")[0] for r in info] == ["batch"] * int(batches), [
        r.getMessage() for r in info]


def test_snapshot_age_is_computed_at_scrape_and_nan_before_the_first():
    m = ConsumerMetrics()
    assert math.isnan(m.registry.get_sample_value("learnstream_snapshot_age_seconds"))
    m.snapshot_published(time.time() - 120)
    first = m.registry.get_sample_value("learnstream_snapshot_age_seconds")
    assert 120 <= first < 3600
    m.snapshot_published(time.time())
    assert m.registry.get_sample_value("learnstream_snapshot_age_seconds") < first


def test_lag_series_follow_the_assignment():
    m = ConsumerMetrics()
    m.set_lag({0: 5, 1: 0, 2: 7})
    m.set_lag({1: 3})  # partitions 0 and 2 moved to another consumer
    lag = {s.labels["partition"]: s.value for f in m.registry.collect()
           if f.name == "learnstream_consumer_lag" for s in f.samples}
    assert lag == {"1": 3}


async def test_lag_counts_down_as_a_backlog_is_read(broker, topic, consumer_settings):
    """A backlog of 40 messages read 5 at a time: the lag measured after each poll starts
    near 35 and falls to 0 (a lag stuck at 0 would pass the test above)."""
    from aiokafka import AIOKafkaProducer

    await ensure_topic(broker.bootstrap, topic, 1)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        for i in range(40):
            body = fixture("nutror/lesson_started").replace(b'"id"', b'"lag_seq": %d, "id"' % i,
                                                             1)
            await producer.send_and_wait(topic, body, headers=[("source", b"eduzz")])
    finally:
        await producer.stop()
    consumer = RunningConsumer(msgspec.structs.replace(
        consumer_settings, batch_max_records=5, snapshot_interval=0))
    seen: list[int] = []
    real = consumer.worker.metrics.set_lag
    consumer.worker.metrics.set_lag = lambda lags: (seen.append(lags.get(0, -1)), real(lags))[1]
    await consumer.start()
    try:
        deadline = time.monotonic() + 30
        while sum(consumer.store.offsets(topic).values()) < 40 or not seen or seen[-1] != 0:
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
        consumer.store.close()
    measured = [lag for lag in seen if lag >= 0]
    assert max(measured) >= 30, seen
    assert measured == sorted(measured, reverse=True), seen
    assert consumer.worker.metrics.registry.get_sample_value(
        "learnstream_consumer_lag", {"partition": "0"}) == 0


def test_a_redelivered_dead_letter_counts_once(tmp_path):
    """The store keeps one dead letter per redelivered message; the counter says the same."""
    from zoneinfo import ZoneInfo

    from consumer.rows import Batch
    from consumer.sources.decoder import Decoder, Message
    from consumer.store import Store

    decoder = Decoder({"eduzz": ZoneInfo("UTC"), "toolzz": ZoneInfo("UTC")})
    store, m = Store(tmp_path / "d.duckdb"), ConsumerMetrics()
    try:
        for offset in (0, 1):  # the platform sent it again: a new Kafka record
            batch = Batch()
            batch.add(0, offset, decoder.decode(Message(DEAD, [("source", b"eduzz")], 0,
                                                        offset, 0)))
            m.batch(batch, store.write(batch, "t"), 0.01)
        assert store.query("select count(*) from dead_letters")[1] == [(1,)]
    finally:
        store.close()
    assert m.registry.get_sample_value("learnstream_dead_letters_total",
                                       {"source": "eduzz", "kind": "invalid_event"}) == 1
