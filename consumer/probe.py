"""Is the broker reachable? The consumer's readiness, probed once a second.

aiokafka keeps polling through an outage without raising: `getmany` just returns nothing,
so the consume loop cannot tell a quiet topic from a dead broker. A metadata request with a
short deadline can: `/readyz` turns 503 while it fails, and `/healthz` (the process is
alive and consuming) stays 200, so an orchestrator stops routing, not restarting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

PROBE_SECONDS = 1.0
PROBE_TIMEOUT = 2.0


class BrokerProbe:
    """`reachable` follows the broker: True after a metadata answer, False after a failure."""

    def __init__(self) -> None:
        self.reachable = True  # the consumer has just connected when the probe starts
        self._task: asyncio.Task[None] | None = None

    def start(self, consumer: AIOKafkaConsumer) -> None:
        """Probe the broker of `consumer` in the background until `stop()`."""
        self._task = asyncio.create_task(self._run(consumer), name="broker-probe")

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel.
                async with asyncio.timeout(PROBE_TIMEOUT):
                    await consumer.topics()
                reachable = True
            except (TimeoutError, KafkaError, OSError):
                reachable = False
            if reachable != self.reachable:
                log.warning("broker %s", "reachable again: ready" if reachable
                            else "unreachable: not ready (GET /readyz answers 503)")
            self.reachable = reachable

    async def stop(self) -> None:
        """Stop probing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
