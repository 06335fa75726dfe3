"""Benchmark 1: the receiver against bare aiohttp, same load generator, same run.

Signed `POST /webhooks/eduzz` with distinct bodies; the receiver answers only after the
broker's ack (acks=all). The baseline reads the body and answers 200.
"""

from __future__ import annotations

import asyncio

from consumer.ops.broker import EmbeddedBroker, free_port
from consumer.worker import ensure_topic
from tests.bench import procs
from tests.bench.bodies import SECRET, TOKEN


def receiver(broker: EmbeddedBroker, topic: str, port: int, *extra: str):  # type: ignore[no-untyped-def]
    """A `learnstream ingest` process on `port`, ready."""
    proc = procs.python("-m", "ingest", "--host", "127.0.0.1", "--port", str(port),
                        "--bootstrap", broker.bootstrap, "--topic", topic,
                        "--eduzz-secrets", SECRET, "--toolzz-token", TOKEN,
                        "--log-level", "WARNING", *extra)
    procs.wait_http(f"http://127.0.0.1:{port}/readyz")
    return proc


def measure(proc, port: int, requests: int, connections: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Warm up, then one measured load run; the generator's figures plus peak RSS."""
    procs.load(port, min(2000, requests), connections, seed=99)
    peak = procs.Peak(proc.pid)
    result = procs.load(port, requests, connections)
    result["peak_rss_mb"] = peak.stop()
    return result


def run(broker: EmbeddedBroker, requests: int, connections: int = 64) -> dict[str, object]:
    """Both servers under the same load; the figures and the ratio."""
    topic = "bench-receiver"
    asyncio.run(ensure_topic(broker.bootstrap, topic, 3))
    port = free_port()
    bare = procs.python("-m", "tests.bench.bare", "--port", str(port))
    try:
        procs.wait_http(f"http://127.0.0.1:{port}/readyz")
        base = measure(bare, port, requests, connections)
    finally:
        procs.stop(bare)
    port = free_port()
    real = receiver(broker, topic, port)
    try:
        ours = measure(real, port, requests, connections)
    finally:
        procs.stop(real)
    return {"bare_aiohttp": base, "receiver": ours,
            "ratio": round(float(ours["rps"]) / float(base["rps"]), 2)}  # type: ignore[arg-type]


if __name__ == "__main__":
    procs.alone(run, 50_000)
