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

from ingest.settings import IngestSettings

log = logging.getLogger(__name__)

PROBE_SECONDS = 1.0
# Keys whose partition hash is remembered: a learner's events arrive in bursts, and the hash
# is aiokafka's pure-Python murmur2 (12-17 us a 32-byte key here). About 110 bytes an entry.
PARTITION_CACHE = 65_536
_M, _MASK = 0x5BD1E995, 0xFFFFFFFF


# The little-endian words of a key of up to 64 bytes, unpacked in one call (the receiver's
# keys are 32 hex digits, the sources' names a few bytes).
_WORDS = [struct.Struct(f"<{n}I") for n in range(17)]


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data`, equal to aiokafka's (and the Java client's) for any bytes:
    the same key lands in the same partition as with the default partitioner. Cheaper than
    aiokafka's: the whole words unpacked in one call, fewer masks."""
    length = len(data)
    h = 0x9747B28C ^ length
    whole = length & ~3
    count = length >> 2
    words = _WORDS[count].unpack_from(data) if count < len(_WORDS) else (
        k for (k,) in struct.iter_unpack("<I", data[:whole]))
    for k in words:
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ (((k ^ (k >> 24)) * _M) & _MASK)
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


class Publisher:
    """Owns one AIOKafkaProducer (acks=all); `publish` returns only once Kafka has the record."""

    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._healthy = False

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
                partitioner=KeyPartitioner(),
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
        """Write one record and wait for the broker's ack, at most `publish_timeout` seconds."""
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
        producer, self._producer = self._producer, None
        if producer is None:
            return
        timeout = self._settings.publish_timeout
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
