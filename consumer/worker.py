"""The consume loop and its lifecycle: poll a batch, store it in one transaction, then commit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from consumer.records import Decoder, Message
from consumer.rows import Batch
from consumer.settings import ConsumerSettings
from consumer.store import Store, Written

log = logging.getLogger(__name__)


async def ensure_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create `topic` when the cluster lacks it (production creates it up front)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            try:
                await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
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
        self.decoder = Decoder(settings.zones())
        self.stored = 0  # events stored since start, for logs and tests
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand (and drain, if configured), then return."""
        self._stop.set()

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Consume until stopped. Store errors propagate: nothing is committed for that batch."""
        s = self.settings
        await ensure_topic(s.bootstrap, s.topic, s.partitions)
        consumer = AIOKafkaConsumer(
            s.topic, bootstrap_servers=s.bootstrap, group_id=s.group,
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=max(s.session_timeout_ms // 5, 100),
        )
        await consumer.start()
        try:
            if on_ready is not None:
                on_ready()
            while not self._stop.is_set():
                await self._poll_once(consumer)
            await self._drain(consumer)
        finally:
            await consumer.stop()

    async def _poll_once(self, consumer: AIOKafkaConsumer) -> int:
        s = self.settings
        records = await consumer.getmany(timeout_ms=s.poll_timeout_ms,
                                         max_records=s.batch_max_records)
        if not records:
            return 0
        started = time.perf_counter()
        # Decoding is CPU work and DuckDB blocks: both run off the event loop, from this owner.
        batch, written = await asyncio.to_thread(self._decode_and_write, records)
        # Offsets go to the Kafka group only after DuckDB committed the rows.
        await consumer.commit(
            {TopicPartition(s.topic, p): o for p, o in batch.next_offsets.items()})
        self.stored += written.events
        _log_batch(batch, written, time.perf_counter() - started)
        return batch.messages

    def _decode_and_write(self, records: dict[TopicPartition, list[Any]]) -> tuple[Batch, Written]:
        batch = Batch()
        for tp, msgs in records.items():
            for r in msgs:
                batch.add(tp.partition, r.offset, self.decoder.decode(
                    Message(r.value or b"", r.headers, tp.partition, r.offset, r.timestamp)))
        return batch, self.store.write(batch, self.settings.topic)

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
        if self.settings.drain_timeout:
            log.warning("drain timeout reached before catching up")


def _log_batch(batch: Batch, w: Written, seconds: float) -> None:
    log.info("batch: %d messages, %d new events, %d duplicates, %d learning, %d commerce, "
             "%d dead letters in %.1f ms", batch.messages, w.events, w.duplicates, w.learning,
             w.commerce, w.dead_letters, seconds * 1000)
