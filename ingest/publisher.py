"""The Kafka producer behind the receiver: connect in the background, publish with a bound,
and probe the broker so readiness follows it even when no traffic flows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder

from ingest.settings import IngestSettings

log = logging.getLogger(__name__)

PROBE_SECONDS = 1.0
# Keys whose partition hash is remembered: a learner's events arrive in bursts, and the hash
# is aiokafka's pure-Python murmur2 (12-17 us a 32-byte key here). About 110 bytes an entry.
PARTITION_CACHE = 65_536
_M, _MASK = 0x5BD1E995, 0xFFFFFFFF
# Records up to this size are batched with the others of their partition (`Publisher`);
# larger ones go alone, so a broker refusing one record's size refuses only that request.
BATCHED_BYTES = 64 * 1024


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data`, equal to aiokafka's (and the Java client's) for any bytes:
    the same key lands in the same partition as with the default partitioner. A third
    cheaper than aiokafka's: whole words unpacked at once, fewer masks."""
    length = len(data)
    h = 0x9747B28C ^ length
    whole = length & ~3
    for (k,) in struct.iter_unpack("<I", data[:whole]):
        k = (k * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    extra = length & 3
    if extra:
        if extra == 3:
            h ^= data[whole + 2] << 16
        if extra >= 2:
            h ^= data[whole + 1] << 8
        h = ((h ^ data[whole]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


class KeyPartitioner:
    """aiokafka's DefaultPartitioner (murmur2 of the key, modulo the partition count; a
    random available partition without a key), with the hash of recent keys remembered."""

    def __init__(self, size: int = PARTITION_CACHE) -> None:
        self._size = size
        self._hashes: dict[bytes, int] = {}

    def __call__(self, key: bytes | None, all_partitions: list[int],
                 available: list[int]) -> int:
        """The partition of `key`: what aiokafka calls for every record without one."""
        if key is None:
            return random.choice(available or all_partitions)
        h = self._hashes.get(key)
        if h is None:
            if len(self._hashes) >= self._size:
                self._hashes.clear()  # cheaper than an LRU's bookkeeping on every hit
            h = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[h % len(all_partitions)]


class Unavailable(RuntimeError):
    """The broker did not acknowledge in time: the caller answers 503 and the platform retries."""


class TooLarge(RuntimeError):
    """The broker refuses a record this size: retrying cannot help, the caller answers 413."""


class _Batch:
    """The records of one partition collected in one turn of the event loop, and the future
    of each, set once the broker acknowledged them."""

    __slots__ = ("acked", "builder")

    def __init__(self, builder: BatchBuilder) -> None:
        self.builder = builder
        self.acked: list[asyncio.Future[None]] = []


class Publisher:
    """Owns one AIOKafkaProducer (acks=all); `publish` returns only once Kafka has the record."""

    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._healthy = False
        self._partitioner = KeyPartitioner()
        self._partitions: list[int] = []
        self._open: dict[int, _Batch] = {}  # batches being filled, by partition
        self._queued: set[int] = set()  # partitions with a batch aiokafka has not taken yet
        self._flush_due = False
        self._sending: set[asyncio.Task[None]] = set()

    @property
    def ready(self) -> bool:
        """Connected, and the broker answered the latest probe and publish."""
        return self._producer is not None and self._healthy

    async def start(self) -> None:
        """Begin connecting; the receiver serves (and answers 503) until the broker is reached."""
        self._task = asyncio.create_task(self._run(), name="kafka-producer")

    async def _run(self) -> None:
        await self._connect()
        while True:  # the probe: readiness must recover without traffic, and notice an outage
            await asyncio.sleep(PROBE_SECONDS)
            assert self._producer is not None
            try:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancel that
                # lands as the fetch completes, and stop() then waited on this loop forever.
                async with asyncio.timeout(self._settings.publish_timeout):
                    await self._producer.client.fetch_all_metadata()
                healthy = True
            except (TimeoutError, KafkaError, OSError):
                healthy = False
            if healthy != self._healthy:
                log.warning("broker %s", "reachable again" if healthy else "unreachable")
            self._healthy = healthy

    async def _connect(self) -> None:
        s = self._settings
        delay = 0.2
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=s.bootstrap, acks="all",
                enable_idempotence=s.enable_idempotence, linger_ms=s.linger_ms,
                max_batch_size=s.max_batch_bytes,
                max_request_size=max(s.max_body_bytes + 64 * 1024, 1024 * 1024),
                request_timeout_ms=max(int(s.publish_timeout * 1000), 1000),
                partitioner=self._partitioner,
            )
            try:
                await producer.start()
            except Exception as exc:  # keep trying whatever it is, and say so every time
                with contextlib.suppress(Exception):
                    await producer.stop()
                log.warning("broker %s unreachable (%s: %s); retrying in %.1fs",
                            s.bootstrap, type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._producer = producer
            self._healthy = True
            log.info("producer connected to %s, topic %s", s.bootstrap, s.topic)
            return

    async def publish(self, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        """Write one record and wait for the broker's ack, at most `publish_timeout` seconds
        (plus the rest of this turn of the event loop).

        The records of one turn of the event loop are collected per partition and handed to
        aiokafka as one batch each (`send_batch`), acknowledged together: what aiokafka's
        `send` does per record (two coroutines, the partition sets, a future and a timer per
        request) is done once per batch. Each request still waits for the ack of the batch
        holding its record: nothing is answered before Kafka has it. Keys keep their
        partition (the same KeyPartitioner), and a partition's batches keep their order."""
        producer = self._producer
        if producer is None:
            raise Unavailable("not connected to the broker yet")
        acked = None if len(value) > BATCHED_BYTES else self._add(producer, key, value, headers)
        if acked is None:  # large, or the topic's partitions not known yet
            await self.publish_alone(key, value, headers)
            return
        await acked  # this request's own future: a cancelled request cancels no other

    def _add(self, producer: AIOKafkaProducer, key: bytes, value: bytes,
             headers: list[tuple[str, bytes]]) -> asyncio.Future[None] | None:
        """Add a record to its partition's open batch; the future its ack sets."""
        if not self._flush_due:  # the first record of this turn: partitions read once a turn
            partitions = producer.client.cluster.partitions_for_topic(self._settings.topic)
            if not partitions:
                return None
            self._partitions = sorted(partitions)
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)
        partition = self._partitioner(key, self._partitions, self._partitions)
        batch = self._open.get(partition)
        if batch is None:
            batch = self._open[partition] = _Batch(producer.create_batch())
        if batch.builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
            self._deliver(partition, self._open.pop(partition))  # full: send it now
            batch = self._open[partition] = _Batch(producer.create_batch())
            batch.builder.append(timestamp=None, key=key, value=value, headers=headers)
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        batch.acked.append(acked)
        return acked

    def _flush(self) -> None:
        """Hand this turn's batches to aiokafka, one task per partition; a partition whose
        previous batch aiokafka has not taken yet keeps collecting into its open batch."""
        self._flush_due = False
        for partition in [p for p in self._open if p not in self._queued]:
            self._deliver(partition, self._open.pop(partition))

    def _deliver(self, partition: int, batch: _Batch) -> None:
        task = asyncio.create_task(self._send_batch(partition, batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_batch(self, partition: int, batch: _Batch) -> None:
        """Send one batch and settle each of its records' futures: done once the broker
        acknowledged it, else the error the handler answers 503 (or 413) for.

        aiokafka takes a partition's next batch only once the sender took the previous one
        (one round trip), so one batch per partition waits there at a time: the others of
        the round trip gather in the open batch, handed over as soon as this one is taken
        (a waiter per turn instead would all wake at each take: quadratic)."""
        producer = self._producer
        try:
            if producer is None:
                raise Unavailable("not connected to the broker yet")
            self._queued.add(partition)
            async with asyncio.timeout(self._settings.publish_timeout):
                try:
                    sent = await producer.send_batch(batch.builder, self._settings.topic,
                                                     partition=partition)
                finally:
                    self._queued.discard(partition)
                    following = self._open.pop(partition, None)
                    if following is not None:
                        self._deliver(partition, following)
                await sent
        except BaseException as exc:
            for acked in batch.acked:
                if not acked.done():
                    acked.set_exception(self._failure(exc))
            if not isinstance(exc, Exception):
                raise  # cancelled: its requests were told above
        else:
            for acked in batch.acked:
                if not acked.done():
                    acked.set_result(None)

    def _failure(self, exc: BaseException) -> Exception:
        """What a failed send means to a request: TooLarge (413) or Unavailable (503)."""
        if isinstance(exc, asyncio.CancelledError):
            return Unavailable("the receiver is stopping")
        if isinstance(exc, TooLarge | Unavailable):
            return type(exc)(str(exc))
        if isinstance(exc, MessageSizeTooLargeError):
            return TooLarge(f"the broker refuses a record of this size: {exc}")
        if isinstance(exc, TimeoutError | KafkaError | OSError):
            self._healthy = False  # the probe restores it once the broker answers
            return Unavailable(f"broker did not acknowledge: {type(exc).__name__}")
        return RuntimeError(f"publish failed: {type(exc).__name__}: {exc}")

    async def publish_alone(self, key: bytes, value: bytes,
                            headers: list[tuple[str, bytes]]) -> None:
        """Write one record by itself (aiokafka's `send`) and wait for the broker's ack, at
        most `publish_timeout` seconds."""
        producer = self._producer
        if producer is None:
            raise Unavailable("not connected to the broker yet")
        try:
            # asyncio.timeout, not wait_for: no extra Task per request on the hot path.
            async with asyncio.timeout(self._settings.publish_timeout):
                sent = await producer.send(self._settings.topic, value=value, key=key,
                                           headers=headers)
                await sent
        except MessageSizeTooLargeError as exc:
            raise TooLarge(f"the broker refuses a record of this size: {exc}") from exc
        except (TimeoutError, KafkaError, OSError) as exc:
            self._healthy = False  # the probe restores it once the broker answers
            raise Unavailable(f"broker did not acknowledge: {type(exc).__name__}") from exc

    async def stop(self) -> None:
        """Flush what is buffered (bounded), then close."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        timeout = self._settings.publish_timeout
        self._queued.clear()  # what was collected, then the batches being sent (bounded)
        self._flush()
        if self._sending:
            await asyncio.wait(self._sending, timeout=timeout)
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            # Bounded: with the broker gone, an unbounded flush would hang shutdown. Records
            # still buffered were answered 503, so the platform sends them again.
            await asyncio.wait_for(producer.flush(), timeout)
            log.info("producer flushed")
        except (TimeoutError, KafkaError) as exc:
            log.error("producer flush failed (%s)", type(exc).__name__)
        try:
            await asyncio.wait_for(producer.stop(), timeout)
        except (TimeoutError, KafkaError) as exc:
            log.error("producer did not close cleanly (%s)", type(exc).__name__)
