"""The consumer while its broker is down (issue 15): not ready (`/readyz` 503) but alive
(`/healthz` 200), aiokafka's errors summarised instead of ten tracebacks a second, and
ready again once the broker is back."""

from __future__ import annotations

import asyncio
import select
import sys
import time
import urllib.error
import urllib.request

from consumer.ops.broker import EmbeddedBroker, free_port
from consumer.worker import ensure_topic
from tests.conftest import logged_process


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def until(url: str, expected: int, timeout: float) -> float:
    """Seconds until GET `url` answers `expected` (fails after `timeout`)."""
    started = time.monotonic()
    while (got := status(url)) != expected:
        assert time.monotonic() - started < timeout, f"{url}: {got}, not {expected}"
        time.sleep(0.1)
    return time.monotonic() - started


async def test_broker_down_makes_the_consumer_not_ready_alive_and_quiet(topic, tmp_path):
    own = EmbeddedBroker().start()  # its own broker: this test stops it
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "consumer.log"
    try:
        await ensure_topic(own.bootstrap, topic, 3)
        with logged_process([sys.executable, "-m", "consumer", "--bootstrap", own.bootstrap,
                             "--topic", topic, "--group", f"g-{topic}", "--data-dir",
                             str(tmp_path), "--metrics-port", str(port), "--poll-timeout-ms",
                             "100", "--session-timeout-ms", "2000"], log) as proc:
            assert proc.stdout is not None
            readable, _, _ = await asyncio.to_thread(select.select, [proc.stdout], [], [], 30)
            assert readable and proc.stdout.readline().startswith("consumer ready"), \
                log.read_text()
            await asyncio.to_thread(until, base + "/readyz", 200, 10)
            before = len(log.read_text().splitlines())

            own.stop()
            took = await asyncio.to_thread(until, base + "/readyz", 503, 10)
            assert status(base + "/healthz") == 200  # alive: nothing to restart
            await asyncio.sleep(8)  # the outage goes on
            assert status(base + "/readyz") == 503 and status(base + "/healthz") == 200
            outage = log.read_text().splitlines()[before:]
            kafka = [line for line in outage if " aiokafka" in line]
            print(f"\noutage: not ready after {took:.1f}s; {len(outage)} log lines in "
                  f"{took + 8:.0f}s, {len(kafka)} from aiokafka")
            assert "Traceback" not in "\n".join(outage), "\n".join(outage)
            assert len(kafka) <= 2, "\n".join(kafka)  # one at once, one summary per 10 s
            assert len(outage) <= 6, "\n".join(outage)

            own.start()  # same port
            await ensure_topic(own.bootstrap, topic, 3)
            await asyncio.to_thread(until, base + "/readyz", 200, 30)
            assert proc.poll() is None, log.read_text()
    finally:
        own.stop()
