"""The receiver against the real broker: what it publishes, and every rejection path."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import aiohttp
from aiohttp import web
from aiokafka import AIOKafkaConsumer

from consumer.broker import EmbeddedBroker, free_port
from consumer.worker import ensure_topic
from ingest.app import create_app
from ingest.settings import IngestSettings
from tests.conftest import fixture, wait_ready


async def read_topic(bootstrap: str, topic: str, count: int) -> list:
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                              enable_auto_commit=False)
    await reader.start()
    try:
        records: list = []
        deadline = time.monotonic() + 20
        while len(records) < count and time.monotonic() < deadline:
            for msgs in (await reader.getmany(timeout_ms=200)).values():
                records.extend(msgs)
        return records
    finally:
        await reader.stop()


async def test_body_is_published_unchanged_with_headers_and_learner_key(receiver, broker, topic):
    body = fixture("alpaclass/student_lesson_unfinished")
    async with aiohttp.ClientSession() as http:
        async with http.post(receiver + "/webhooks/eduzz", data=body, headers={
                "x-delivery-attempt": "2", "x-subscription": "lk354pk:alpaclass.x"}) as resp:
            assert resp.status == 200
    (record,) = await read_topic(broker.bootstrap, topic, 1)
    assert record.value == body
    assert record.key == b"fulano.s@gmail.com"
    headers = dict(record.headers)
    assert headers["source"] == b"eduzz"
    assert headers["x-delivery-attempt"] == b"2"
    assert headers["x-subscription"] == b"lk354pk:alpaclass.x"
    received = headers["received_at"].decode()
    assert received.endswith("Z")
    assert abs(datetime.fromisoformat(received).timestamp() - time.time()) < 60


async def test_toolzz_key_is_the_user_email_and_unknown_events_are_accepted(receiver, broker,
                                                                           topic):
    async with aiohttp.ClientSession() as http:
        async with http.post(receiver + "/webhooks/toolzz",
                             data=fixture("toolzz/activities_course_completed")) as resp:
            assert resp.status == 200
        unknown = b'{"event": "brand.new_event", "data": {"student": {"id": 42}}}'
        async with http.post(receiver + "/webhooks/eduzz", data=unknown) as resp:
            assert resp.status == 200  # the edge keeps, the consumer judges
    records = await read_topic(broker.bootstrap, topic, 2)
    assert sorted(r.key for r in records) == [b"brand:42", b"student@toolzz.com"]


async def test_bad_bodies_get_400_with_a_one_line_reason(receiver):
    async with aiohttp.ClientSession() as http:
        for body, expected in ((b"{not json", "body is not valid JSON"),
                               (b"[1, 2]", "body must be a JSON object, got list"),
                               (b"", "empty body")):
            async with http.post(receiver + "/webhooks/eduzz", data=body) as resp:
                text = await resp.text()
                assert resp.status == 400, text
                assert text.startswith(expected) and text.count("\n") == 1
        async with http.post(receiver + "/webhooks/other", data=b"{}") as resp:
            assert resp.status == 404


async def test_oversized_body_gets_413(broker, topic):
    settings = IngestSettings(port=free_port(), bootstrap=broker.bootstrap, topic=topic,
                              max_body_bytes=1000)
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    url = f"http://127.0.0.1:{settings.port}"
    try:
        await wait_ready(url)
        async with aiohttp.ClientSession() as http:
            big = b'{"pad": "' + b"x" * 2000 + b'"}'
            async with http.post(url + "/webhooks/eduzz", data=big) as resp:
                assert resp.status == 413
                assert "exceeds the 1000 byte limit" in await resp.text()

            async def chunks():  # no Content-Length: the limit is enforced while reading
                yield big

            async with http.post(url + "/webhooks/eduzz", data=chunks()) as resp:
                assert resp.status == 413
    finally:
        await runner.cleanup()


async def test_broker_down_gives_503_with_retry_after_then_recovers(topic):
    own = EmbeddedBroker().start()  # a broker of its own: this test stops it
    settings = IngestSettings(port=free_port(), bootstrap=own.bootstrap, topic=topic,
                              publish_timeout=1.0)
    await ensure_topic(own.bootstrap, topic, 1)
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    url = f"http://127.0.0.1:{settings.port}"
    body = fixture("nutror/module_completed")
    try:
        await wait_ready(url)
        async with aiohttp.ClientSession() as http:
            async with http.post(url + "/webhooks/eduzz", data=body) as resp:
                assert resp.status == 200
            own.stop()
            started = time.monotonic()
            async with http.post(url + "/webhooks/eduzz", data=body) as resp:
                elapsed = time.monotonic() - started
                assert resp.status == 503
                assert resp.headers["Retry-After"] == "1"
                assert (await resp.text()).startswith("event not stored, retry later")
            assert elapsed < settings.publish_timeout + 1.0
            await asyncio.sleep(1.5)  # the probe notices the outage without traffic
            async with http.get(url + "/readyz") as resp:
                assert resp.status == 503
            async with http.get(url + "/healthz") as resp:
                assert resp.status == 200
            own.start()  # same port; the embedded broker starts empty
            await ensure_topic(own.bootstrap, topic, 1)
            await wait_ready(url)  # readiness recovers with no traffic at all
            async with http.post(url + "/webhooks/eduzz", data=body) as resp:
                assert resp.status == 200
    finally:
        await runner.cleanup()
        own.stop()


async def test_receiver_started_before_the_broker_answers_503_until_connected(topic):
    port = free_port()
    settings = IngestSettings(port=free_port(), bootstrap=f"127.0.0.1:{port}", topic=topic,
                              publish_timeout=1.0)
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    url = f"http://127.0.0.1:{settings.port}"
    late = EmbeddedBroker(port)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/readyz") as resp:
                assert resp.status == 503
            async with http.post(url + "/webhooks/eduzz", data=b"{}") as resp:
                assert resp.status == 503
            late.start()
            await ensure_topic(late.bootstrap, topic, 1)
            await wait_ready(url)
            async with http.post(url + "/webhooks/eduzz", data=b"{}") as resp:
                assert resp.status == 200
    finally:
        await runner.cleanup()
        late.stop()
        await asyncio.sleep(0)
