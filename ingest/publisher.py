"""The Kafka producer behind the receiver: connect in the background, publish with a bound."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ingest.settings import IngestSettings

log = logging.getLogger(__name__)


class Unavailable(RuntimeError):
    """The broker did not acknowledge in time: the caller answers 503 and the platform retries."""


class Publisher:
    """Owns one AIOKafkaProducer (acks=all); `publish` returns only once Kafka has the record."""

    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._healthy = False

    @property
    def ready(self) -> bool:
        """Connected, and the last publish (if any) was acknowledged."""
        return self._producer is not None and self._healthy

    async def start(self) -> None:
        """Begin connecting; the receiver serves (and answers 503) until the broker is reached."""
        self._connecting = asyncio.create_task(self._connect(), name="kafka-connect")

    async def _connect(self) -> None:
        s = self._settings
        delay = 0.2
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=s.bootstrap,
                acks="all",
                enable_idempotence=s.enable_idempotence,
                linger_ms=s.linger_ms,
                max_batch_size=s.max_batch_bytes,
                max_request_size=max(s.max_body_bytes + 64 * 1024, 1024 * 1024),
                request_timeout_ms=max(int(s.publish_timeout * 1000), 1000),
            )
            try:
                await producer.start()
            except (KafkaError, OSError) as exc:
                await producer.stop()
                log.warning("broker %s unreachable (%s); retrying in %.1fs",
                            s.bootstrap, exc, delay)
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
            await asyncio.wait_for(
                producer.send_and_wait(self._settings.topic, value=value, key=key,
                                       headers=headers),
                timeout=self._settings.publish_timeout,
            )
        except (TimeoutError, KafkaError, OSError) as exc:
            self._healthy = False
            raise Unavailable(f"broker did not acknowledge: {type(exc).__name__}") from exc
        self._healthy = True

    async def stop(self) -> None:
        """Flush what is buffered, then close."""
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                # Bounded: with the broker gone, an unbounded flush would hang shutdown.
                await asyncio.wait_for(producer.flush(), self._settings.publish_timeout)
                log.info("producer flushed")
            except (TimeoutError, KafkaError) as exc:
                log.error("producer flush failed (%s); unacknowledged records were answered 503",
                          type(exc).__name__)
            await asyncio.wait_for(producer.stop(), self._settings.publish_timeout)
