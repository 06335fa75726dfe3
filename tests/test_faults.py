"""Fault injection (issue 4, "Fault tests" 1 to 3): a consumer killed with SIGKILL under
load, a broker outage under the receiver, every fixture delivered three times.

Real broker, real processes where it matters, real DuckDB files; every wait is bounded.
Each test prints its figures on one line (shown with `pytest -s`); the asserts carry the
check.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import aiohttp
import pytest

from consumer.ops.broker import EmbeddedBroker, free_port
from consumer.settings import ConsumerSettings
from consumer.store import read
from consumer.worker import ensure_topic
from ingest.settings import IngestSettings
from tests.conftest import (
    FIXTURES,
    SECRET,
    TOKEN,
    RunningConsumer,
    fixture,
    logged_process,
    post,
    serving,
    source_of,
    wait_ready,
)

CONSUMER = [sys.executable, "-m", "consumer"]


# --- helpers -------------------------------------------------------------------------------


def lesson_events(prefix: str, count: int) -> dict[str, bytes]:
    """`count` distinct, valid AlpaClass lesson_finished events, by event_uid."""
    template = json.loads(fixture("alpaclass/student_lesson_finished"))
    events: dict[str, bytes] = {}
    for i in range(count):
        body = json.loads(json.dumps(template))
        body["id"] = f"{prefix}-{i:05d}"
        body["data"]["student"]["id"] = f"student-{i % 997}"
        body["data"]["student"]["email"] = f"learner{i % 997}@example.com"
        body["data"]["lesson"]["id"] = f"lesson-{i % 113}"
        body["data"]["module"]["id"] = f"module-{i % 17}"
        events[f"eduzz:{body['id']}"] = json.dumps(body).encode()
    return events


class Poster:
    """Posts signed webhooks with `clients` concurrent tasks; a 503 is retried, as the
    platforms do, until `deadline`. Records what was acknowledged with 200."""

    def __init__(self, base: str, clients: int = 20, retry_503: bool = True) -> None:
        self.base, self.clients, self.retry_503 = base, clients, retry_503
        self.acknowledged: set[str] = set()
        self.statuses: dict[int, int] = {}
        self.retries = 0

    async def run(self, items: Iterable[tuple[str, str, bytes]], deadline: float) -> None:
        queue = iter(list(items))
        loop = asyncio.get_running_loop()
        connector = aiohttp.TCPConnector(limit=self.clients)
        async with aiohttp.ClientSession(connector=connector) as http:

            async def client() -> None:
                for uid, source, body in queue:
                    while True:
                        assert loop.time() < deadline, (
                            f"posting not done in time: {len(self.acknowledged)} acknowledged")
                        status, text = await post(http, self.base, source, body)
                        self.statuses[status] = self.statuses.get(status, 0) + 1
                        if status == 200:
                            self.acknowledged.add(uid)
                            break
                        assert status == 503 and self.retry_503, (status, text)
                        self.retries += 1
                        await asyncio.sleep(0.2)

            await asyncio.gather(*(client() for _ in range(self.clients)))


@contextlib.contextmanager
def consumer_process(bootstrap: str, topic: str, data_dir: Path, log: Path,
                     *extra: str) -> Iterator[subprocess.Popen[str]]:
    """`python -m consumer` (= `learnstream consume`); its log goes to `log`. Killed if left."""
    argv = [*CONSUMER, "--bootstrap", bootstrap, "--topic", topic, "--group", f"g-{topic}",
            "--data-dir", str(data_dir), "--session-timeout-ms", "2000",
            "--poll-timeout-ms", "100", *extra]
    with logged_process(argv, log) as proc:
        yield proc


def log_text(log: Path) -> str:
    """A consumer's log so far."""
    return log.read_text(errors="replace")


def batch_totals(log: Path) -> tuple[int, int]:
    """(messages read, duplicates skipped) over the `batch:` lines of a consumer log."""
    found = re.findall(r"batch: (\d+) messages, \d+ new events, (\d+) duplicates", log_text(log))
    return sum(int(m) for m, _ in found), sum(int(d) for _, d in found)


async def until_ready(proc: subprocess.Popen[str], log: Path, timeout: float = 30) -> None:
    """The consumer printed `consumer ready: ...` on stdout."""
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout)
    except TimeoutError:
        proc.kill()
        raise AssertionError(f"consumer not ready in {timeout}s:\n{log_text(log)}") from None
    assert line.startswith("consumer ready: "), (line, log_text(log))


async def until_logged(log: Path, line: str, timeout: float, proc: subprocess.Popen[str]) -> None:
    """Until the consumer's log holds `line` (it must stay alive meanwhile)."""
    deadline = time.monotonic() + timeout
    while line not in log_text(log):
        assert proc.poll() is None, f"consumer exited {proc.returncode}:\n{log_text(log)}"
        assert time.monotonic() < deadline, f"no {line!r} in {timeout}s:\n{log_text(log)}"
        await asyncio.sleep(0.05)


async def stopped(proc: subprocess.Popen[str], log: Path, timeout: float = 90) -> None:
    """SIGTERM, and require a clean exit within `timeout`."""
    proc.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.to_thread(proc.wait, timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"consumer did not stop in {timeout}s:\n{log_text(log)}") from None
    assert code == 0, log_text(log)


def duplicates(db: Path, table: str) -> int:
    return read(db, f"select count(*) - count(distinct event_uid) from {table}")[1][0][0]


def count(db: Path, table: str) -> int:
    return read(db, f"select count(*) from {table}")[1][0][0]


# --- 1. kill -9 under load -----------------------------------------------------------------

# Enough that the kill lands mid-flow (KILL_AFTER acknowledged, 7,000 still to come) with
# batches committed and in flight; 20,000 proved no more and cost twice the time.
TOTAL = 10_000
KILL_AFTER = 3_000  # acknowledged posts, and at least one batch committed to DuckDB


@pytest.mark.slow
async def test_kill_9_consumer_under_load_loses_and_doubles_nothing(receiver, topic, broker,
                                                                   tmp_path):
    events = lesson_events(f"k9-{uuid.uuid4().hex[:8]}", TOTAL)
    db = tmp_path / "learnstream.duckdb"
    logs = [tmp_path / "consumer-1.log", tmp_path / "consumer-2.log"]
    loop = asyncio.get_running_loop()
    started = loop.time()
    poster = Poster(receiver, clients=20)
    figures: dict[str, object] = {}

    with consumer_process(broker.bootstrap, topic, tmp_path, logs[0]) as first:
        await until_ready(first, logs[0])
        sending = asyncio.create_task(poster.run(
            ((uid, "eduzz", body) for uid, body in events.items()), deadline=started + 120))
        try:
            await until_logged(logs[0], "INFO consumer.worker: batch: ", 60, first)
            while len(poster.acknowledged) < KILL_AFTER:
                assert not sending.done(), sending.exception()
                assert loop.time() < started + 60, "posting too slow to kill mid-flow"
                await asyncio.sleep(0.01)
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, 10)
            figures["acknowledged_at_kill"] = len(poster.acknowledged)
            assert first.returncode == -signal.SIGKILL
            # Nobody writes the file now: what the killed consumer had committed.
            figures["stored_at_kill"] = count(db, "raw_events")

            with consumer_process(broker.bootstrap, topic, tmp_path, logs[1],
                                  "--drain-timeout", "60") as second:
                await until_ready(second, logs[1])
                await asyncio.wait_for(asyncio.shield(sending), 120)
                posting_done = loop.time()
                # The dead member's partitions move once its 2 s session expires; stopping
                # before that would let the drain declare a partial assignment caught up.
                await until_logged(logs[1], "assigned partitions [0, 1, 2]", 30, second)
                await stopped(second, logs[1])  # drains until caught up, then exits 0
        finally:
            if not sending.done():
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sending

    stored = set(uid for (uid,) in read(db, "select event_uid from raw_events")[1])
    # What the restarted consumer read: everything after the offsets DuckDB held, plus any
    # record the killed one had stored but not yet committed to the Kafka group (skipped).
    figures["restarted_read"], figures["restarted_skipped"] = batch_totals(logs[1])
    figures.update(
        sent=TOTAL, acknowledged=len(poster.acknowledged), retried_503=poster.retries,
        stored=count(db, "raw_events"), learning=count(db, "learning_events"),
        duplicates=duplicates(db, "raw_events") + duplicates(db, "learning_events"),
        dead_letters=count(db, "dead_letters"),
        # records in the topic: above `sent` when a producer retry wrote one twice
        log_records=read(db, "select sum(next_offset) from consumer_offsets")[1][0][0],
        conflicting=count(db, "conflicting_deliveries"),
        post_seconds=round(posting_done - started, 1),
        total_seconds=round(loop.time() - started, 1))
    print("\nkill-9: " + " ".join(f"{k}={v}" for k, v in figures.items()))

    assert poster.acknowledged == set(events)
    assert 0 < figures["stored_at_kill"] < TOTAL  # type: ignore[operator]
    assert figures["stored"] == TOTAL
    assert figures["learning"] == TOTAL
    assert figures["duplicates"] == 0
    assert figures["dead_letters"] == 0 and figures["conflicting"] == 0
    assert stored == set(events)
    assert figures["log_records"] >= TOTAL  # type: ignore[operator]


# --- 2. broker outage ----------------------------------------------------------------------


@pytest.mark.slow
async def test_broker_outage_gives_503_then_everything_acknowledged_after_restart_is_stored(
        topic, tmp_path):
    own = EmbeddedBroker().start()  # a broker of its own: this test stops it
    ingest = IngestSettings(host="127.0.0.1", port=free_port(), bootstrap=own.bootstrap,
                            topic=topic, publish_timeout=1.0, eduzz_secrets=SECRET,
                            toolzz_token=TOKEN)
    settings = ConsumerSettings(bootstrap=own.bootstrap, topic=topic, group=f"g-{topic}",
                                data_dir=str(tmp_path), poll_timeout_ms=100, partitions=3,
                                session_timeout_ms=2000)
    prefix = f"outage-{uuid.uuid4().hex[:8]}"
    before = lesson_events(f"{prefix}-before", 200)
    during = lesson_events(f"{prefix}-during", 5)
    # After an outage the platforms retry what got 503 and new traffic keeps coming: more
    # events than the consumer had read of the old log before the broker went away.
    after = lesson_events(f"{prefix}-after", 400)
    outage: list[tuple[int, float]] = []
    consumer: RunningConsumer | None = None
    stored: set[str] = set()
    try:
        await ensure_topic(own.bootstrap, topic, 3)
        consumer = RunningConsumer(settings)
        await consumer.start()
        async with serving(ingest) as url:
            loop = asyncio.get_running_loop()
            first = Poster(url, clients=10, retry_503=False)
            await first.run(((uid, "eduzz", b) for uid, b in before.items()),
                            deadline=loop.time() + 30)
            await consumer.wait_for_events(len(before))  # drained before the broker goes
            offsets_before = dict(consumer.rows(
                "select kafka_partition, next_offset from consumer_offsets"))

            own.stop()
            async with aiohttp.ClientSession() as http:
                for body in during.values():
                    t0 = time.monotonic()
                    status, text = await post(http, url, "eduzz", body)
                    outage.append((status, time.monotonic() - t0))
                    assert status == 503, text
                    assert text.startswith("event not stored, retry later")

            own.start()  # same port, and empty: the topic is gone with the old process
            await ensure_topic(own.bootstrap, topic, 3)
            await wait_ready(url, timeout=30)
            # The platform retries what got 503, and new events keep coming.
            second = Poster(url, clients=5, retry_503=True)
            await second.run(((uid, "eduzz", b) for uid, b in {**during, **after}.items()),
                             deadline=loop.time() + 60)

        # Everything is in Kafka now: wait until it is all stored, or reading has stalled.
        expected = len(before) + len(second.acknowledged)
        deadline, progress = loop.time() + 30, (-1, loop.time())
        while consumer.worker.stored < expected and loop.time() < deadline:
            assert consumer.task is not None
            if consumer.task.done():
                consumer.task.result()
            if consumer.worker.consumed != progress[0]:
                progress = (consumer.worker.consumed, loop.time())
            elif loop.time() - progress[1] > 5:
                break
            await asyncio.sleep(0.1)
        await consumer.stop()
        stored = {uid for (uid,) in consumer.rows("select event_uid from raw_events")}
        offsets = dict(consumer.rows("select kafka_partition, next_offset from consumer_offsets"))
        dead = consumer.rows("select count(*) from dead_letters")[0][0]
    finally:
        if consumer is not None:
            if consumer.task is not None and not consumer.task.done():
                await consumer.stop()
            consumer.store.close()
        own.stop()

    lost_after = second.acknowledged - stored
    print(f"\nbroker-outage: sent={len(before) + len(during) + len(after)} "
          f"acknowledged_before={len(first.acknowledged)} outage_statuses="
          f"{[s for s, _ in outage]} outage_max_seconds={max(t for _, t in outage):.2f} "
          f"acknowledged_after={len(second.acknowledged)} retried_503={second.retries} "
          f"stored={len(stored)} missing_before={len(set(before) - stored)} "
          f"missing_after={len(lost_after)} consumed_after_restart="
          f"{consumer.worker.consumed - len(before)} offsets_before_outage={offsets_before} "
          f"stored_offsets={offsets} "
          f"dead_letters={dead}")

    assert all(s == 503 and t < ingest.publish_timeout + 1.0 for s, t in outage), outage
    assert first.acknowledged == set(before)
    assert second.acknowledged == set(during) | set(after)
    assert set(before) <= stored
    assert not lost_after, (
        f"{len(lost_after)} of {len(second.acknowledged)} events acknowledged with 200 after "
        f"the broker restart never reached DuckDB; offsets stored before the outage "
        f"{offsets_before} (sum {sum(offsets_before.values())}), after {offsets}")
    assert stored <= set(before) | set(during) | set(after)
    assert dead == 0


# --- 3. every fixture three times ----------------------------------------------------------


def identity(name: str) -> str:
    """The data model's event_uid, written out independently of the decoder."""
    body = (FIXTURES / f"{name}.json").read_bytes()
    source = source_of(name)
    event_id = json.loads(body).get("id") if source == "eduzz" else None
    if isinstance(event_id, str | int) and not isinstance(event_id, bool) and str(event_id):
        return f"eduzz:{event_id}"
    return f"{source}:sha256:{hashlib.sha256(body).hexdigest()}"


def without_sent_date(name: str) -> object:
    body = json.loads(fixture(name))
    body.pop("sentDate", None)
    if isinstance(body.get("data"), dict):
        body["data"].pop("sentDate", None)
    return body


@pytest.mark.slow
async def test_every_fixture_posted_three_times_is_stored_once(receiver, consumer):
    names = sorted(f"{p.parent.name}/{p.stem}" for p in FIXTURES.glob("*/*.json"))
    deliveries = names * 3
    random.Random(4).shuffle(deliveries)
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(identity(name), []).append(name)
    # The fixtures that share an id are all different events (sentDate aside), so whichever
    # arrives first wins and the 3 copies of each of the others conflict with it.
    for members in groups.values():
        shapes = [without_sent_date(n) for n in members]
        assert all(shapes.count(s) == 1 for s in shapes), members
    expected_conflicts = {uid: 3 * (len(m) - 1) for uid, m in groups.items() if len(m) > 1}

    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession() as http:
        for name in deliveries:
            status, text = await post(http, receiver, source_of(name), fixture(name))
            statuses[status] = statuses.get(status, 0) + 1
            assert status == 200, (name, text)
    await consumer.wait_for_events(len(groups))
    await consumer.caught_up(len(deliveries), timeout=30)
    await consumer.stop()

    raw = consumer.rows("select event_uid, body::varchar from raw_events")
    dead = consumer.rows("select count(*) from dead_letters")[0][0]
    conflicts = consumer.rows("""select event_uid, first_body::varchar, body::varchar
                                 from conflicting_duplicates""")
    learning = consumer.rows("select count(*), count(distinct event_uid) from learning_events")
    commerce = consumer.rows("select count(distinct event_uid) from commerce_events")[0][0]
    per_uid: dict[str, int] = {}
    for uid, _, _ in conflicts:
        per_uid[uid] = per_uid.get(uid, 0) + 1
    print(f"\nthree-times: fixtures={len(names)} sent={len(deliveries)} statuses={statuses} "
          f"distinct_uids={len(groups)} stored={len(raw)} consumed={consumer.worker.consumed} "
          f"duplicates_skipped={consumer.worker.consumed - len(raw)} "
          f"conflicting={len(conflicts)} expected_conflicting="
          f"{sum(expected_conflicts.values())} shared_ids={len(expected_conflicts)} "
          f"learning_events={learning[0][0]} commerce_uids={commerce} dead_letters={dead}")

    assert len(raw) == len({uid for uid, _ in raw}) == len(groups)
    assert {uid for uid, _ in raw} == set(groups)
    assert dead == 0
    assert per_uid == expected_conflicts
    by_body = {fixture(n).decode(): n for n in names}
    for uid, first_body, body in conflicts:
        # both sides are fixtures of that id, and never the same fixture twice
        assert by_body[first_body] in groups[uid] and by_body[body] in groups[uid]
        assert by_body[first_body] != by_body[body]
    for uid, body in raw:  # the stored body is one of the fixtures of its id, unchanged
        assert by_body[body] in groups[uid]
    assert learning[0][0] == learning[0][1]  # one learning row per event here
    assert learning[0][1] + commerce == len(groups)
