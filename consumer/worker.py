"""The consume loop and its lifecycle: poll a batch, store it in one transaction, then commit."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from consumer.control import Server
from consumer.metrics import ConsumerMetrics, measure_lag
from consumer.probe import BrokerProbe
from consumer.resume import ResumeFromStore, StoredOffsets, fingerprint
from consumer.rows import Batch, Written
from consumer.settings import ConsumerSettings
from consumer.snapshot import Snapshots
from consumer.sources.decoder import Decoder, Message
from consumer.store import Error as StoreError
from consumer.store import Store, explain
from consumer.store.suppression import use_key

log = logging.getLogger(__name__)
COMMIT_TIMEOUT = 5.0
LINGER_SLICE_MS = 100
# Under a backlog, how many times FOLD_AT pending rows a batch still folds itself: the fold
# beside the batches (Snapshots.maybe) may wait for a snapshot's copy meanwhile.
BACKLOG_FOLD_AT = 2
# At the head of the log a fetch waits at the broker for this much data, or for as long as a
# batch lingers: the consumer gathers that long anyway, and fetches answered with every few
# records cost the broker and the consumer a round trip each (the embedded broker's grows
# with the batches a partition holds; end to end at 200k requests 1.11-1.18x the rate, its
# CPU an event 28-35 against 47 us: README "Performance"). Under a backlog each fetch has
# the bytes at once.
FETCH_MIN_BYTES = 1024 * 1024
FETCH_WAIT_MAX_MS = 500  # aiokafka's default: a longer linger need not hold a fetch longer


def fetch_wait(batch_linger_ms: int) -> dict[str, int]:
    """How long and for how much a fetch at the head of the log waits at the broker."""
    return {"fetch_min_bytes": FETCH_MIN_BYTES,
            "fetch_max_wait_ms": min(batch_linger_ms, FETCH_WAIT_MAX_MS)}


def decoded(decoder: Decoder, records: dict[TopicPartition, list[Any]]) -> Batch:
    """The rows of polled records (aiokafka's), decoded in arrival order, with each
    partition's next offset and the fingerprint of the record before it."""
    batch = Batch()
    for tp, msgs in records.items():
        for r in msgs:
            batch.add(tp.partition, r.offset, decoder.decode(
                Message(r.value or b"", r.headers, tp.partition, r.offset, r.timestamp)))
        batch.last_fingerprints[tp.partition] = fingerprint(msgs[-1].value)
    return batch


class StoreFailed(RuntimeError):
    """The store kept failing: nothing of the batch was stored or committed; the consumer exits
    and, restarted, resumes from the offsets DuckDB holds."""


async def ensure_topic(bootstrap: str, topic: str, partitions: int,
                       retention_ms: int | None = None) -> None:
    """Create `topic` when the cluster lacks it (production creates it up front)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            try:
                configs = {"retention.ms": str(retention_ms)} if retention_ms else {}
                await admin.create_topics([NewTopic(topic, partitions, replication_factor=1,
                                                    topic_configs=configs)])
                log.info("created topic %s with %d partitions", topic, partitions)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


class Worker:
    """Consumes `settings.topic` into the store until `stop()`; the batch in hand is finished."""

    def __init__(self, settings: ConsumerSettings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.metrics = ConsumerMetrics(settings.data_dir)
        self.running = False  # between the consumer's start and its stop
        self.probe = BrokerProbe()
        self.decoder = Decoder(settings.zones())
        self.stored = 0  # new events stored since start
        self.consumed = 0  # messages read since start (duplicates and dead letters included)
        self._stop = asyncio.Event()
        self.offsets = StoredOffsets(store, settings.topic)  # and the lock of the batch in hand
        self.snapshots = Snapshots(store, settings.snapshot_path, settings.snapshot_interval,
                                   self.metrics.snapshot_published, settings.free_space_warning)
        # Commands' changes (control.py), each published to readers before it is answered.
        self.requests = Server(store, settings.data_dir, republish=self.snapshots.now)

    @property
    def ready(self) -> bool:
        """Consuming, and the broker answers (GET /readyz)."""
        return self.running and self.probe.reachable

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand (and drain, if configured), then return."""
        self._stop.set()

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Consume until stopped. Store errors propagate: nothing is committed for that batch."""
        s = self.settings
        await asyncio.to_thread(use_key, self.store, s.pseudonym_key)  # erased people
        await ensure_topic(s.bootstrap, s.topic, s.partitions, s.raw_retention_ms)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.bootstrap, group_id=s.group,
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **fetch_wait(s.batch_linger_ms),
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=max(s.session_timeout_ms // 5, 100),
        )
        new_logs = self.metrics.new_logs
        self._resume = ResumeFromStore(self.offsets, consumer,
                                       lambda partition: new_logs.labels(str(partition)).inc())
        consumer.subscribe([s.topic], listener=self._resume)
        await consumer.start()
        # What start-up made (modules, the store, aiokafka's client) lives as long as the
        # consumer: out of the collector's oldest generation, which the batches' allocations
        # on the event loop (aiokafka's records) would otherwise walk over and over. Garbage
        # collected first, so none is kept; given back when the consumer stops.
        gc.collect()
        gc.freeze()
        self.running = True
        self.probe.start(consumer)
        try:
            await self.snapshots.maybe(self.consumed)  # readers have a file once we are ready
            if on_ready is not None:
                on_ready()
            while not self._stop.is_set():
                polled = await self._poll_once(consumer)
                await measure_lag(consumer, self.metrics)
                # Its copy runs beside the batches; its fold too under a backlog (a full
                # batch: more wait).
                await self.snapshots.maybe(self.consumed,
                                           backlog=polled >= s.batch_max_records)
                await self.requests.serve(self.offsets.in_hand)  # also between batches
            await self._drain(consumer)
            await self.snapshots.final(self.consumed)
        finally:
            self.running = False
            gc.unfreeze()
            await self.probe.stop()
            await consumer.stop()

    async def _poll_once(self, consumer: AIOKafkaConsumer) -> int:
        s = self.settings
        records = await consumer.getmany(timeout_ms=s.poll_timeout_ms,
                                         max_records=s.batch_max_records)
        # A partition that brought nothing may sit past the end of a new, shorter log.
        await self._resume.check_ends(consumer.assignment() - records.keys())
        if not records:
            return 0
        polled_under = self._resume.generation
        async with self.offsets.in_hand:
            if self._resume.generation != polled_under:
                # A rebalance ran while these records waited for the lock: it sought every
                # partition to what DuckDB holds, so they will be fetched again. Storing them
                # now would make that second read a duplicate (or look like a new log).
                log.debug("dropped %d records polled before a rebalance",
                          sum(map(len, records.values())))
                return 0
            # Under the lock, so no rebalance can come between these polls and the write.
            await self._linger(consumer, records)
            records = await self._resume.checked(records)
            if not records:
                return 0
            batch = await self._store(records)
        # DuckDB holds the offsets that count (committed with the rows, sought on assignment);
        # this group commit is for lag tools, so it is bounded, outside the in-hand lock (a
        # rebalance need not wait for it) and its failure is not fatal.
        try:
            await asyncio.wait_for(consumer.commit(
                {TopicPartition(s.topic, p): o for p, o in batch.next_offsets.items()}),
                COMMIT_TIMEOUT)
        except (KafkaError, TimeoutError) as exc:
            log.warning("group offset commit failed (%r); DuckDB has the offsets", exc)
        return batch.messages

    async def _linger(self, consumer: AIOKafkaConsumer,
                      records: dict[TopicPartition, list[Any]]) -> None:
        """Add to `records` what further polls bring within `batch_linger_ms`, up to
        `batch_max_records`. A batch's fixed cost (begin, commit, the offsets, the statements:
        8-10 ms, README Performance) is paid per transaction; a live stream's polls hold tens
        of messages, so without this that cost, not the rows, is what the consumer spends."""
        s = self.settings
        count = sum(map(len, records.values()))
        deadline = time.monotonic() + s.batch_linger_ms / 1000
        while (count < s.batch_max_records and not self._stop.is_set()
               and not self._resume.waiting):
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                return
            # In slices, so a stop or a rebalance is heard within one and the batch in hand
            # written then.
            more = await consumer.getmany(timeout_ms=min(left_ms, LINGER_SLICE_MS),
                                          max_records=s.batch_max_records - count)
            went_back = False
            for tp, msgs in more.items():
                if tp in records and msgs[0].offset <= records[tp][-1].offset:
                    # The position went back under us: aiokafka resets a partition it is
                    # given again (a rejoin) before the listener seeks it. A batch must not
                    # hold a record twice (duplicates are dropped by position, so both
                    # would go); these are fetched again from where the reset put them.
                    consumer.seek(tp, msgs[0].offset)
                    went_back = True
                    continue
                records.setdefault(tp, []).extend(msgs)  # in offset order after the rest
                count += len(msgs)
            if went_back:
                return

    async def _store(self, records: dict[TopicPartition, list[Any]]) -> Batch:
        started = time.perf_counter()
        # Decoding is CPU work and DuckDB blocks: both run off the event loop, from this owner.
        batch, written, insert_seconds = await self._write_with_retries(records)
        self.stored += written.events
        self.consumed += batch.messages
        self.metrics.batch(batch, written, insert_seconds)
        _log_batch(batch, written, time.perf_counter() - started)
        return batch

    async def _write_with_retries(
            self, records: dict[TopicPartition, list[Any]]) -> tuple[Batch, Written, float]:
        """A failed transaction stored nothing, so the batch is simply written again, with
        backoff; after `store_retries` failures the consumer stops, naming the cause."""
        delay = 0.5
        for attempt in range(1, self.settings.store_retries + 2):
            try:
                return await asyncio.to_thread(self._decode_and_write, records)
            except StoreError as exc:  # a fatal one reopens the store at the next try
                cause = explain(exc, self.settings.data_dir)
                if attempt > self.settings.store_retries:
                    raise StoreFailed(f"DuckDB write failed {attempt} times: {cause}") from exc
                log.error("DuckDB write failed (%s); retry %d of %d in %.1fs",
                          cause, attempt, self.settings.store_retries, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")

    def _decode_and_write(
            self, records: dict[TopicPartition, list[Any]]) -> tuple[Batch, Written, float]:
        # A batch allocates some twenty container objects a message (the decoded rows' lists
        # and tuples, the columns): the cyclic collector would pass over them and, in its
        # oldest generation, over every live object, several times a batch, for no cycle to
        # find. Reference counting frees them; the collector runs again once it is stored.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._decode_and_write_now(records)
        finally:
            if enabled:
                gc.enable()

    def _decode_and_write_now(
            self, records: dict[TopicPartition, list[Any]]) -> tuple[Batch, Written, float]:
        batch = decoded(self.decoder, records)
        started = time.perf_counter()
        # A full batch: more wait, so the fold FOLD_AT calls for runs beside the next ones
        # (Snapshots.maybe); this batch folds only if that has fallen far behind.
        backlog = batch.messages >= self.settings.batch_max_records
        written = self.store.write(batch, self.settings.topic,
                                   BACKLOG_FOLD_AT * self.store.fold_at if backlog else None)
        return batch, written, time.perf_counter() - started

    async def _drain(self, consumer: AIOKafkaConsumer) -> None:
        """After a stop, keep consuming up to `drain_timeout` seconds until caught up."""
        deadline = time.monotonic() + self.settings.drain_timeout
        while time.monotonic() < deadline:
            assigned = consumer.assignment()
            if assigned:
                ends = await consumer.end_offsets(list(assigned))
                positions = {tp: await consumer.position(tp) for tp in assigned}
                if all(positions[tp] >= end for tp, end in ends.items()):
                    log.info("drained: caught up on %d partitions", len(assigned))
                    return
            await self._poll_once(consumer)
            await self.snapshots.maybe(self.consumed)  # a long drain keeps readers fresh
        if self.settings.drain_timeout:
            log.warning("drain timeout reached before catching up")


def _log_batch(batch: Batch, w: Written, seconds: float) -> None:
    # The counts also ride as fields, so a JSON log line is queryable without parsing text.
    log.info("batch: %d messages, %d new events, %d duplicates (%d conflicting), %d learning, "
             "%d commerce, %d dead letters in %.1f ms", batch.messages, w.events, w.duplicates,
             w.conflicts, w.learning, w.commerce, w.dead_letters, seconds * 1000,
             extra={"messages": batch.messages, **w._asdict(), "ms": round(seconds * 1000, 1)})
