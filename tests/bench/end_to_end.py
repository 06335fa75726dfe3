"""Benchmark 3: HTTP to queryable rows, sustained, then latency at half that rate.

A receiver process and a consumer process (`learnstream ingest` / `consume`) on the
embedded broker; the load generator posts signed, distinct, mixed webhooks. An event is
queryable once the consumer has committed it (the group commit follows the DuckDB commit).
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time

from consumer.ops.broker import EmbeddedBroker, free_port
from consumer.worker import ensure_topic
from tests.bench import procs
from tests.bench.consumer import Committed
from tests.bench.receiver import receiver


async def _until_committed(bootstrap: str, topic: str, group: str, events: int,
                           consumer: object) -> float:
    async with Committed(bootstrap, topic, group) as committed:
        while await committed.total() < events:
            if consumer.poll() is not None:  # type: ignore[attr-defined]
                raise RuntimeError("consumer exited during the benchmark")
            await asyncio.sleep(0.05)
    return time.perf_counter()


def run(broker: EmbeddedBroker, requests: int, connections: int = 64) -> dict[str, object]:
    """Full-speed pass (sustained events/s), then a pass at half that rate (p99)."""
    topic, group = f"bench-e2e-{requests}", f"bench-e2e-{requests}"
    asyncio.run(ensure_topic(broker.bootstrap, topic, 3))
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        http = receiver(broker, topic, port)
        cons = procs.python("-m", "consumer", "--bootstrap", broker.bootstrap, "--topic", topic,
                            "--group", group, "--data-dir", data, "--session-timeout-ms", "2000",
                            "--log-level", "WARNING")
        try:
            procs.load(port, 1000, connections, sources="mixed", seed=90)  # warm-up, joins group
            asyncio.run(_until_committed(broker.bootstrap, topic, group, 1000, cons))
            peak = procs.Peak(http.pid, cons.pid)
            pids = {"receiver": http.pid, "consumer": cons.pid, "broker": broker.pid}
            cpu = {name: procs.cpu_seconds(pid) for name, pid in pids.items() if pid}
            started = time.perf_counter()
            done: dict[str, float] = {}
            waiter = threading.Thread(target=lambda: done.setdefault("at", asyncio.run(
                _until_committed(broker.bootstrap, topic, group, 1000 + requests, cons))))
            waiter.start()
            full = procs.load(port, requests, connections, sources="mixed", seed=91)
            waiter.join()
            # CPU per event of each process over the full-speed pass: what bounds the rate
            # when they all share the cores.
            cpu_us = {name: round((procs.cpu_seconds(pids[name]) - used) / requests * 1e6, 1)
                      for name, used in cpu.items()}
            cpu_us["generator"] = round(float(full["generator_cpu_s"]) / requests * 1e6, 1)  # type: ignore[arg-type]
            sustained = requests / (done["at"] - started)
            half_rate = sustained / 2
            half = procs.load(port, max(1000, int(half_rate * 10)), connections,
                              rate=half_rate, sources="mixed", seed=92)
            peak_mb = peak.stop()
            rss = {"receiver_rss_mb": round(procs.rss_mb(http.pid, "VmHWM"), 1),
                   "consumer_rss_mb": round(procs.rss_mb(cons.pid, "VmHWM"), 1)}
        finally:
            procs.stop(http)
            procs.stop(cons)
    return {"requests": requests, "http_rps": full["rps"],
            "sustained_events_per_s": round(sustained), "half_rate": round(half_rate),
            "half_rate_p50_ms": half["p50_ms"], "half_rate_p99_ms": half["p99_ms"],
            "half_rate_statuses": half["statuses"], "cpu_us_per_event": cpu_us,
            "seconds": round(done["at"] - started, 2), "peak_rss_both_mb": peak_mb, **rss}


if __name__ == "__main__":
    procs.alone(run, 50_000)
