"""Shared fixtures: a real Kafka-protocol broker (Tansu) per session, real DuckDB per test."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer

from consumer.ops.broker import EmbeddedBroker, free_port
from consumer.settings import ConsumerSettings
from consumer.store import Store
from consumer.worker import Worker, ensure_topic
from ingest.app import create_app, server_args
from ingest.settings import IngestSettings

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "test-eduzz-secret"
TOKEN = "test-toolzz-token"
# Every `learnstream consume` a test starts would serve /metrics on the default 9101, which
# another run on the same machine may hold: none of them reads it (test_metrics and test_cli
# pass their own free port), so they serve none.
os.environ["LEARNSTREAM_METRICS_PORT"] = "0"
# Tansu answers a group's first JoinGroup after half the session timeout (at least 1 s): the
# default 10 s made every `consume`, `up` and `demo` a test starts wait 5 s before its first
# batch. The in-process consumers already use 2 s (consumer_settings below).
os.environ["LEARNSTREAM_SESSION_TIMEOUT_MS"] = "2000"


def signed(source: str, body: bytes, secret: str = SECRET,
           token: str = TOKEN) -> tuple[str, dict[str, str]]:
    """(path, headers) of a delivery as the platform makes it: Eduzz signs the raw body,
    Toolzz posts to the URL holding our token."""
    headers = {"content-type": "application/json"}
    if source == "eduzz":
        headers["x-signature"] = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return "/webhooks/eduzz", headers
    return f"/webhooks/toolzz/{token}", headers


async def post(http: aiohttp.ClientSession, base: str, source: str, body: bytes,
               **headers: str) -> tuple[int, str]:
    """POST a signed webhook; (status, text)."""
    path, sign = signed(source, body)
    async with http.post(base + path, data=body, headers={**sign, **headers}) as resp:
        return resp.status, await resp.text()


def fixture(name: str) -> bytes:
    """The published example payload `<family>/<event>` (copied from the platforms' docs)."""
    return (FIXTURES / f"{name}.json").read_bytes()


def source_of(name: str) -> str:
    """Which receiver path a fixture family is posted to."""
    return "toolzz" if name.startswith("toolzz/") else "eduzz"


@contextlib.contextmanager
def logged_process(argv: list[str], log: Path,
                   env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """A real process with stdout piped and stderr to `log`; killed if still running."""
    with open(log, "wb") as err, subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=err, text=True,
            env={**os.environ, **(env or {})}) as proc:
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One embedded broker for the session; tests isolate by topic and group."""
    b = EmbeddedBroker().start()
    yield b
    b.stop()


@pytest.fixture
def topic() -> str:
    """A fresh topic name (and group name) per test."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def consumer_settings(broker: EmbeddedBroker, topic: str, tmp_path: Path) -> ConsumerSettings:
    return ConsumerSettings(bootstrap=broker.bootstrap, topic=topic, group=f"g-{topic}",
                            data_dir=str(tmp_path), poll_timeout_ms=100, partitions=3,
                            session_timeout_ms=2000)


@pytest.fixture
def ingest_settings(broker: EmbeddedBroker, topic: str) -> IngestSettings:
    return IngestSettings(host="127.0.0.1", port=free_port(), bootstrap=broker.bootstrap,
                          topic=topic, publish_timeout=2.0, eduzz_secrets=SECRET,
                          toolzz_token=TOKEN)


async def wait_ready(base_url: str, timeout: float = 20.0) -> None:
    """Poll /readyz until the receiver's producer is connected."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(base_url + "/readyz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise AssertionError(f"receiver at {base_url} never became ready")


@asynccontextmanager
async def serving(settings: IngestSettings, ready: bool = True):
    """A receiver with `settings` on its port; yields its base URL."""
    app = create_app(settings)
    runner = web.AppRunner(app, **server_args(app))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    url = f"http://127.0.0.1:{settings.port}"
    try:
        if ready:
            await wait_ready(url)
        yield url
    finally:
        await runner.cleanup()


@pytest.fixture
async def receiver(ingest_settings: IngestSettings) -> AsyncIterator[str]:
    """The real aiohttp receiver on a free port; yields its base URL once ready."""
    await ensure_topic(ingest_settings.bootstrap, ingest_settings.topic, 3)
    async with serving(ingest_settings) as url:
        yield url


class RunningConsumer:
    """A Worker running as a task over a real DuckDB file."""

    def __init__(self, settings: ConsumerSettings) -> None:
        self.settings = settings
        self.store = Store(settings.db_path)
        self.worker = Worker(settings, self.store)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ready = asyncio.Event()
        self.task = asyncio.create_task(self.worker.run(on_ready=ready.set))
        await asyncio.wait_for(ready.wait(), 30)

    async def wait_for_events(self, count: int, timeout: float = 30.0) -> None:
        """Until `count` distinct events are stored (or fail loudly)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.worker.stored < count:
            assert self.task is not None
            if self.task.done():
                self.task.result()
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"only {self.worker.stored} of {count} events stored")
            await asyncio.sleep(0.05)

    async def caught_up(self, messages: int, timeout: float = 60.0) -> None:
        """Until the offsets stored with the rows cover `messages` records (one per delivery):
        counting messages read would be fooled by a rebalance that rewinds a partition."""
        deadline = asyncio.get_running_loop().time() + timeout
        topic = self.settings.topic
        while sum(self.store.offsets(topic).values()) < messages:
            assert asyncio.get_running_loop().time() < deadline, self.store.offsets(topic)
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self.worker.stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, 30)

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        return self.store.query(sql)[1]


@pytest.fixture
async def consumer(consumer_settings: ConsumerSettings) -> AsyncIterator[RunningConsumer]:
    running = RunningConsumer(consumer_settings)
    await running.start()
    yield running
    await running.stop()
    running.store.close()


def settings_for(broker: EmbeddedBroker, topic: str, **changes) -> IngestSettings:
    return IngestSettings(**{"port": free_port(), "bootstrap": broker.bootstrap, "topic": topic,
                             "eduzz_secrets": SECRET, "toolzz_token": TOKEN, **changes})


def lesson_event(run: str, i: int) -> bytes:
    """A distinct, valid AlpaClass lesson_finished event."""
    body = json.loads(fixture("alpaclass/student_lesson_finished"))
    body["id"] = f"{run}-{i}"
    body["data"]["student"]["email"] = f"learner{i % 101}@example.com"
    body["data"]["lesson"]["id"] = f"lesson-{i % 37}"
    return json.dumps(body).encode()


async def read_topic(bootstrap: str, topic: str, count: int, wait: float = 20) -> list:
    """Up to `count` records of `topic`, from its start, waiting at most `wait` seconds."""
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                              enable_auto_commit=False)
    await reader.start()
    try:
        records: list = []
        deadline = time.monotonic() + wait
        while len(records) < count and time.monotonic() < deadline:
            for msgs in (await reader.getmany(timeout_ms=200)).values():
                records.extend(msgs)
        return records
    finally:
        await reader.stop()
