"""Benchmark 3: HTTP to queryable rows, sustained, then latency at half that rate.

A receiver process and a consumer process (`learnstream ingest` / `consume`) on the
embedded broker; the load generator posts signed, distinct, mixed webhooks. An event is
queryable once the consumer has committed it (the group commit follows the DuckDB commit);
the sustained rate runs from the generator's first request to the last event committed.
With `--baseline REF`, the same passes run on the receiver and consumer of that git ref
(`git archive`d), interleaved with this tree's for `--rounds` rounds.

    python -m tests.bench.end_to_end [N] [--rounds 1] [--baseline main]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from pathlib import Path

from consumer.ops.broker import EmbeddedBroker, free_port
from consumer.worker import ensure_topic
from tests.bench import procs
from tests.bench.consumer import Committed, checkout
from tests.bench.receiver import receiver


async def _until_committed(bootstrap: str, topic: str, group: str, events: int,
                           consumer: object) -> float:
    async with Committed(bootstrap, topic, group) as committed:
        while await committed.total() < events:
            if consumer.poll() is not None:  # type: ignore[attr-defined]
                raise RuntimeError("consumer exited during the benchmark")
            await asyncio.sleep(0.05)
    return time.monotonic()


def run(broker: EmbeddedBroker, requests: int, connections: int = 64,
        root: Path = procs.ROOT, name: str = "", workers: int = 1) -> dict[str, object]:
    """Full-speed pass (sustained events/s), then a pass at half that rate (p99), on the
    receiver (with `workers` processes) and consumer of the code at `root`."""
    topic = group = f"bench-e2e-{name}{requests}-{free_port()}"
    asyncio.run(ensure_topic(broker.bootstrap, topic, 3))
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        http = receiver(broker, topic, port, *(("--workers", str(workers)) if workers > 1 else ()),
                        root=root)
        cons = procs.python("-m", "consumer", "--bootstrap", broker.bootstrap, "--topic", topic,
                            "--group", group, "--data-dir", data, "--session-timeout-ms", "2000",
                            "--metrics-port", "0", "--log-level", "WARNING", root=root)
        try:
            procs.load(port, 1000, connections, sources="mixed", seed=90)  # warm-up, joins group
            asyncio.run(_until_committed(broker.bootstrap, topic, group, 1000, cons))
            peak = procs.Peak(http.pid, cons.pid)
            pids = {"receiver": http.pid, "consumer": cons.pid, "broker": broker.pid}
            cpu = {name: procs.cpu_seconds(pid) for name, pid in pids.items() if pid}
            launched = time.monotonic()
            done: dict[str, float] = {}
            waiter = threading.Thread(target=lambda: done.setdefault("at", asyncio.run(
                _until_committed(broker.bootstrap, topic, group, 1000 + requests, cons))))
            waiter.start()
            full = procs.load(port, requests, connections, sources="mixed", seed=91)
            waiter.join()
            # CPU per event of each process over the full-speed pass: what bounds the rate
            # when they all share the cores. The generator's is its sending only (its
            # requests are built before its clock starts).
            cpu_us = {name: round((procs.cpu_seconds(pids[name]) - used) / requests * 1e6, 1)
                      for name, used in cpu.items()}
            cpu_us["generator"] = round(float(full["send_cpu_s"]) / requests * 1e6, 1)  # type: ignore[arg-type]
            cpu_us["all"] = round(sum(cpu_us.values()), 1)
            # From the first request sent, not from the generator's launch: building 50k
            # signed requests takes it about a second, which is no part of the pipeline.
            started = float(full["started_monotonic"])  # type: ignore[arg-type]
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
            "seconds": round(done["at"] - started, 2),
            "from_launch_events_per_s": round(requests / (done["at"] - launched)),
            "peak_rss_both_mb": peak_mb, **rss}


def compare(broker: EmbeddedBroker, requests: int, baseline: str,
            rounds: int = 2, workers: int = 1) -> dict[str, object]:
    """This tree and `baseline`, interleaved: each round runs both, ours first on odd
    rounds and the baseline first on even ones."""
    base_root = checkout(baseline)
    out: dict[str, list[dict[str, object]]] = {"ours": [], "baseline": []}
    for i in range(rounds):
        order = [("ours", procs.ROOT), ("baseline", base_root)]
        for name, root in order if i % 2 == 0 else order[::-1]:
            out[name].append(run(broker, requests, root=root, name=name, workers=workers))
    ratios = [round(float(o["sustained_events_per_s"]) / float(b["sustained_events_per_s"]), 2)  # type: ignore[arg-type]
              for o, b in zip(out["ours"], out["baseline"], strict=True)]
    return {"baseline_ref": baseline, "rounds": out, "ratio_to_baseline_rounds": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("requests", type=int, nargs="?", default=50_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--baseline", help="git ref run interleaved in the same rounds")
    parser.add_argument("--workers", type=int, default=1,
                        help="receiver processes (compose.yaml runs 2: one per core)")
    args = parser.parse_args()
    broker = EmbeddedBroker().start()
    try:
        if args.baseline:
            print(json.dumps(compare(broker, args.requests, args.baseline, args.rounds,
                                             args.workers)))
        else:
            print(json.dumps([run(broker, args.requests, workers=args.workers)
                              for _ in range(args.rounds)]))
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
