"""Benchmark 2: pre-filled topic to committed DuckDB rows, against a bare aiokafka loop.

The consumer runs as `learnstream consume` (a process of its own, so its memory is its own)
and is done when the group offsets it commits after each DuckDB commit cover the topic.
The baseline reads the same topic with `getmany` and does nothing else.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from consumer.ops.broker import EmbeddedBroker
from consumer.worker import ensure_topic
from tests.bench import procs
from tests.bench.bodies import mixed


async def fill(bootstrap: str, topic: str, events: int) -> float:
    """Produce `events` distinct realistic messages as the receiver would; seconds taken."""
    await ensure_topic(bootstrap, topic, 3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_batch_size=1024 * 1024, max_request_size=4 * 1024 * 1024)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for i, (source, body) in enumerate(mixed(events, seed=7)):
            headers = [("source", source.encode()),
                       ("received_at", datetime.now(UTC).isoformat().encode())]
            pending.append(await producer.send(topic, body, key=str(i % 50_000).encode(),
                                               headers=headers))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def bare(bootstrap: str, topic: str, events: int) -> float:
    """Events/s of a plain getmany loop (same group settings) over `events` messages, timed
    from its first batch (the group join is not throughput)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"bare-{topic}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                max_partition_fetch_bytes=4 * 1024 * 1024,
                                session_timeout_ms=2000, heartbeat_interval_ms=400)
    await consumer.start()
    try:
        seen, first, started = 0, 0, 0.0
        while seen < events:
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                seen += len(records)
                if not started:
                    first, started = seen, time.perf_counter()
    finally:
        await consumer.stop()
    return (events - first) / (time.perf_counter() - started)


class Committed:
    """Reads a group's committed offsets (what the consumer stored and committed)."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        self.topic = topic
        self._c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                   enable_auto_commit=False)

    async def __aenter__(self) -> Committed:
        await self._c.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._c.stop()

    async def total(self) -> int:
        """Messages covered by the committed offsets."""
        parts = self._c.partitions_for_topic(self.topic) or set()
        offsets = [await self._c.committed(TopicPartition(self.topic, p)) for p in parts]
        return sum(o or 0 for o in offsets)


async def ours(bootstrap: str, topic: str, events: int) -> dict[str, object]:
    """Seconds for `learnstream consume` to store and commit every message; peak RSS and
    RSS at half-way and at the end (the consumer must not grow with the store)."""
    group = f"ours-{topic}"
    with tempfile.TemporaryDirectory() as data:
        async with Committed(bootstrap, topic, group) as committed:
            started = time.perf_counter()
            proc = procs.python("-m", "consumer", "--bootstrap", bootstrap,
                                "--topic", topic, "--group", group, "--data-dir", data,
                                "--session-timeout-ms", "2000", "--log-level", "WARNING")
            peak = procs.Peak(proc.pid)
            half_rss, first, first_at = 0.0, 0, 0.0
            try:
                while (done := await committed.total()) < events:
                    if done and not first:  # timed from the first commit: a group join
                        first, first_at = done, time.perf_counter()  # is not throughput
                    if proc.poll() is not None:
                        raise RuntimeError(f"consumer exited with status {proc.returncode}")
                    if not half_rss and done >= events // 2:
                        half_rss = procs.rss_mb(proc.pid)
                    await asyncio.sleep(0.05)
                seconds = time.perf_counter() - started
                rate = (events - first) / (time.perf_counter() - first_at) if first else 0.0
                end_rss = procs.rss_mb(proc.pid)
            finally:
                procs.stop(proc)
        return {"seconds": round(seconds, 2), "events_per_s": round(rate),
                "peak_rss_mb": peak.stop(), "rss_half_mb": round(half_rss, 1),
                "rss_end_mb": round(end_rss, 1)}


def run(broker: EmbeddedBroker, events: int) -> dict[str, object]:
    """Fill a topic, then time the bare loop and the consumer over it."""
    topic = f"bench-consumer-{events}"
    fill_s = asyncio.run(fill(broker.bootstrap, topic, events))
    base_rate = asyncio.run(bare(broker.bootstrap, topic, events))
    mine = asyncio.run(ours(broker.bootstrap, topic, events))
    return {"events": events, "fill_seconds": round(fill_s, 1),
            "bare_getmany_per_s": round(base_rate), "consumer": mine,
            "ratio": round(float(mine["events_per_s"]) / base_rate, 2)}  # type: ignore[arg-type]


if __name__ == "__main__":
    procs.alone(run, 100_000)
