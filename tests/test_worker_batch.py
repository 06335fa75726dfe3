"""The worker's batches: polls gathered into one transaction while records keep coming
(`batch_linger_ms`), which a fetch at the head of the log waits for at the broker too; the
cyclic garbage collector paused while a batch is decoded and written
(consumer/worker.py `_decode_and_write`) and always left as it was found; what start-up made
frozen while the worker runs."""

from __future__ import annotations

import asyncio
import gc
import time
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from consumer.settings import ConsumerSettings
from consumer.store import Store
from consumer.worker import FETCH_MIN_BYTES, FETCH_WAIT_MAX_MS, Worker, fetch_wait
from tests.conftest import RunningConsumer, lesson_event


def _worker(work: Any) -> Any:
    return SimpleNamespace(_decode_and_write_now=work)


def test_a_batch_pauses_the_collector_and_gives_it_back_even_when_the_store_fails():
    during = []

    def failing(records: Any) -> Any:
        during.append(gc.isenabled())
        raise RuntimeError("store failed")

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        Worker._decode_and_write(_worker(failing), {})
    assert during == [False]
    assert gc.isenabled()
    assert Worker._decode_and_write(_worker(lambda records: "stored"), {}) == "stored"
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused():
    gc.disable()
    try:
        Worker._decode_and_write(_worker(lambda records: None), {})
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_start_up_objects_are_frozen_while_consuming_and_given_back_after(
        consumer_settings):
    # Frozen: out of the collector's passes while batches allocate; unfrozen at the stop, so
    # a process that runs a consumer and goes on (these tests) collects them again.
    assert gc.get_freeze_count() == 0
    running = RunningConsumer(consumer_settings)
    await running.start()
    try:
        assert gc.get_freeze_count() > 0
    finally:
        await running.stop()
    assert gc.get_freeze_count() == 0


async def _transactions(running: RunningConsumer) -> float:
    # The worker counts a batch once its write returns: caught_up() may see the committed
    # offsets first, and the worker's count is due in the loop's next turns.
    await asyncio.sleep(0.1)
    count = running.worker.metrics.registry.get_sample_value("learnstream_batch_messages_count")
    return count or 0.0


async def _send_one_by_one(settings: ConsumerSettings, count: int) -> None:
    # Each send awaits its ack, so the records reach the log one at a time, as a live
    # stream's do, and a poll finds a few of them at most.
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap)
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(settings.topic, b'{"not a webhook": %d}' % n,
                                         partition=0)
    finally:
        await producer.stop()


async def test_records_that_keep_coming_within_the_linger_are_written_in_one_transaction(
        consumer_settings):
    # The linger outlasts the sends however loaded the machine: the batch is closed by
    # batch_max_records, then the next by the linger's end.
    settings = msgspec.structs.replace(consumer_settings, batch_linger_ms=5_000,
                                       batch_max_records=40)
    running = RunningConsumer(settings)
    await running.start()
    try:
        await _send_one_by_one(settings, 40)
        await running.caught_up(40, timeout=5)
        # Without the linger every poll is written on its own: tens of transactions here.
        assert await _transactions(running) == 1
        await _send_one_by_one(settings, 5)
        await running.caught_up(45, timeout=15)
        assert await _transactions(running) == 2
    finally:
        await running.stop()


async def test_a_stop_during_the_linger_writes_what_is_in_hand_at_once(consumer_settings):
    settings = msgspec.structs.replace(consumer_settings, batch_linger_ms=10_000)
    running = RunningConsumer(settings)
    await running.start()
    try:
        await _send_one_by_one(settings, 5)
        await asyncio.sleep(0.5)  # polled, now lingering for more
        assert await _transactions(running) == 0
    finally:
        started = time.monotonic()
        await running.stop()
    assert time.monotonic() - started < 2.0
    assert sum(running.store.offsets(settings.topic).values()) == 5
    assert await _transactions(running) == 1


async def test_a_rebalance_during_the_linger_gets_the_batch_in_hand_written_at_once(
        consumer_settings):
    settings = msgspec.structs.replace(consumer_settings, batch_linger_ms=20_000)
    running = RunningConsumer(settings)
    await running.start()
    joining = AIOKafkaConsumer(settings.topic, bootstrap_servers=settings.bootstrap,
                               group_id=settings.group, session_timeout_ms=2000,
                               heartbeat_interval_ms=400)
    try:
        await _send_one_by_one(settings, 5)
        await asyncio.sleep(0.5)  # polled, now lingering for more
        assert await _transactions(running) == 0
        # The group rebalances: the revocation waits for the batch in hand, and the joining
        # member for the revocation (a bound, so a lingering batch fails rather than hangs).
        async with asyncio.timeout(10):  # 2 s here
            await joining.start()
            await running.caught_up(5, timeout=10)  # not at the linger's end
        assert await _transactions(running) == 1
    finally:
        async with asyncio.timeout(30):
            await running.stop()
            await joining.stop()


def test_a_fetch_at_the_head_waits_at_the_broker_as_long_as_a_batch_lingers():
    # Answered at the first record, fetches at the head came every few records: a round
    # trip each for the broker and the consumer (README "Performance").
    assert fetch_wait(200) == {"fetch_min_bytes": FETCH_MIN_BYTES, "fetch_max_wait_ms": 200}
    assert FETCH_MIN_BYTES >= 1024 * 1024
    assert fetch_wait(0)["fetch_max_wait_ms"] == 0  # written at once: no wait there either
    assert fetch_wait(20_000)["fetch_max_wait_ms"] == FETCH_WAIT_MAX_MS == 500


class _Polls:
    """A consumer whose polls give scripted records, and which notes its seeks."""

    def __init__(self, *polls: dict[TopicPartition, list[Any]]) -> None:
        self.polls, self.seeks = list(polls), []  # type: ignore[var-annotated]

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Any]]:
        return self.polls.pop(0) if self.polls else {}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


def _records(tp: TopicPartition, first: int, last: int) -> list[Any]:
    return [SimpleNamespace(offset=o, value=b"%d" % o) for o in range(first, last + 1)]


async def test_a_partition_read_again_from_further_back_ends_the_linger_unmerged(
        consumer_settings):
    # aiokafka resets a partition it is given again (a rejoin) before the rebalance listener
    # runs, so a poll during the linger can bring offsets the batch holds already. Merged, a
    # record would be in the batch twice and dropped twice as its own duplicate (the broker
    # outage test lost every event after the restart so).
    tp, other = TopicPartition("t", 0), TopicPartition("t", 1)
    polls = _Polls({tp: _records(tp, 0, 6), other: _records(other, 4, 5)},
                   {tp: _records(tp, 7, 9)})
    worker = SimpleNamespace(settings=msgspec.structs.replace(consumer_settings,
                                                              batch_linger_ms=10_000),
                             _stop=asyncio.Event(), _resume=SimpleNamespace(waiting=0))
    records = {tp: _records(tp, 0, 3), other: _records(other, 0, 3)}
    await Worker._linger(worker, polls, records)  # type: ignore[arg-type]
    assert [r.offset for r in records[tp]] == [0, 1, 2, 3]
    assert [r.offset for r in records[other]] == [0, 1, 2, 3, 4, 5]
    assert polls.seeks == [(tp, 0)]  # where the reset put it: read again from there
    assert polls.polls  # the linger ended at once, its later poll left


def test_a_full_batch_leaves_the_fold_at_fold_at_to_the_work_beside_the_batches(tmp_path):
    """A full batch (a backlog: more wait) does not fold the rows FOLD_AT calls for in its
    own transaction, which stopped the writer (Snapshots.maybe folds them beside the next
    batches), unless twice that many are pending; a batch that is not full folds them."""
    settings = ConsumerSettings(data_dir=str(tmp_path), batch_max_records=4)
    store = Store(settings.db_path, fold_at=4)
    worker = Worker(settings, store)
    received = b"2026-12-04T10:00:00+00:00"
    offsets = iter(range(100))

    def records(n: int) -> dict[TopicPartition, list[Any]]:
        return {TopicPartition(settings.topic, 0): [
            SimpleNamespace(value=lesson_event("fold", o), offset=o, timestamp=0,
                            headers=[("source", b"eduzz"), ("received_at", received)])
            for o in (next(offsets) for _ in range(n))]}

    try:
        worker._decode_and_write_now(records(4))  # full: 4 pending, left
        assert store.pending == 4
        worker._decode_and_write_now(records(4))  # full, and 8 pending: folded
        assert store.pending == 0
        worker._decode_and_write_now(records(4))
        worker._decode_and_write_now(records(1))  # not full: folded at 4, as before
        assert store.pending == 0
        (folded,) = store.query("select count(*) from learning_events "
                                "where stored_seq < fold_since()")[1]
        assert folded == (13,)
    finally:
        store.close()
