"""The consumer's Prometheus metrics, and the small HTTP server that serves them.

`learnstream consume` answers `GET /metrics` (and `GET /healthz`) on `--metrics-port`.
Each Worker has its own CollectorRegistry, so tests can run many in one process.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter as Tally
from collections.abc import Callable, Mapping

from aiohttp import web
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import IllegalStateError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.aiohttp import make_aiohttp_handler

from consumer.ops import disk
from consumer.rows import Batch, Written

log = logging.getLogger(__name__)

BATCH_BUCKETS = (1, 10, 50, 100, 500, 1000, 5000, 10_000, 50_000)
INSERT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ConsumerMetrics:
    """What the consumer read, stored and set aside; how far behind it is; snapshot age."""

    def __init__(self, data_dir: str | None = None) -> None:
        self.registry = r = CollectorRegistry()
        self.events = Counter(
            "learnstream_events_consumed", "Decoded rows by source and canonical action "
            "(commerce rows have action \"commerce\"); redeliveries included",
            ["source", "action"], registry=r)
        self.stored = Counter("learnstream_events_stored",
                              "New events stored (raw_events rows)", registry=r)
        self.duplicates = Counter("learnstream_duplicates",
                                  "Messages skipped: their event_uid was already stored",
                                  registry=r)
        self.suppressed = Counter("learnstream_suppressed",
                                  "Messages not stored: they name a person erased by "
                                  "learnstream forget", registry=r)
        self.dead_letters = Counter("learnstream_dead_letters",
                                    "Dead letters stored (a redelivered one once), "
                                    "by source and kind",
                                    ["source", "kind"], registry=r)
        self.batch_messages = Histogram("learnstream_batch_messages",
                                        "Kafka messages per stored batch", registry=r,
                                        buckets=BATCH_BUCKETS)
        self.insert_seconds = Histogram("learnstream_insert_seconds",
                                        "DuckDB write of one batch (one transaction)",
                                        registry=r, buckets=INSERT_BUCKETS)
        self.lag = Gauge("learnstream_consumer_lag", "Messages in the log not yet read, per "
                         "assigned partition (high watermark minus position)", ["partition"],
                         registry=r)
        self.new_logs = Counter("learnstream_new_logs", "Partitions found to be a new log "
                                "(topic recreated, in-memory broker restarted) and read again "
                                "from the start", ["partition"], registry=r)
        self.snapshot_age = Gauge("learnstream_snapshot_age_seconds",
                                  "Seconds since the analytics snapshot was last published "
                                  "(NaN until the first)", registry=r)
        if data_dir is not None:  # read at scrape: always current, no timer
            Gauge("learnstream_data_dir_free_bytes", "Free bytes on the data dir's file system "
                  "(a full disk stops the store)", registry=r).set_function(
                lambda: disk.free_bytes(data_dir))
        self._snapshot_at: float | None = None
        self.snapshot_age.set_function(self._age)
        self.handler = make_aiohttp_handler(r)

    def batch(self, batch: Batch, written: Written, insert_seconds: float) -> None:
        """Count one stored batch from its rows and what the store reported."""
        # Tallied first, so each label set is looked up once per batch, not once per row.
        by_label: Tally[tuple[str, str]] = Tally(
            (row.event_uid.split(":", 1)[0], row.action) for row in batch.learning)
        by_label.update((row.event_uid.split(":", 1)[0], "commerce") for row in batch.commerce)
        for (source, action), n in by_label.items():
            self.events.labels(source, action).inc(n)
        for (source, kind), n in Tally(written.letter_kinds).items():
            self.dead_letters.labels(source, kind).inc(n)
        self.stored.inc(written.events)
        self.duplicates.inc(written.duplicates)
        self.suppressed.inc(written.suppressed)
        self.batch_messages.observe(batch.messages)
        self.insert_seconds.observe(insert_seconds)

    def set_lag(self, lags: Mapping[int, int]) -> None:
        """Replace the lag series: partitions no longer assigned disappear."""
        self.lag.clear()
        for partition, lag in lags.items():
            self.lag.labels(str(partition)).set(lag)

    def snapshot_published(self, unix_time: float) -> None:
        """The analytics snapshot was published at `unix_time`; the age is computed at scrape."""
        self._snapshot_at = unix_time

    def _age(self) -> float:
        if self._snapshot_at is None:
            return math.nan
        return max(0.0, time.time() - self._snapshot_at)


async def serve(metrics: ConsumerMetrics, port: int, healthy: Callable[[], bool],
                ready: Callable[[], bool]) -> web.AppRunner:
    """Serve `GET /metrics`, `GET /healthz` (200 while `healthy()`: alive) and `GET /readyz`
    (200 while `ready()`: the broker answers too) on `port`, all interfaces (Prometheus
    scrapes from elsewhere); stop with `runner.cleanup()`."""

    async def healthz(request: web.Request) -> web.Response:
        if healthy():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="consumer not running\n")

    async def readyz(request: web.Request) -> web.Response:
        if ready():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="not ready: consumer not running or broker "
                                             "unreachable\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics.handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()
    log.info("metrics on http://0.0.0.0:%d/metrics", port)
    return runner


async def measure_lag(consumer: AIOKafkaConsumer, metrics: ConsumerMetrics) -> None:
    """Lag per assigned partition from the high watermark of the latest fetch (no
    request to the broker); partitions not fetched yet are left out."""
    lags = {}
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is None:
            continue
        try:  # immediate when the position is known; bounded when a reset is pending
            position = await asyncio.wait_for(consumer.position(tp), 1.0)
        except (IllegalStateError, TimeoutError):
            continue  # revoked or being reset meanwhile: measured on the next poll
        lags[tp.partition] = max(0, high - position)
    metrics.set_lag(lags)
