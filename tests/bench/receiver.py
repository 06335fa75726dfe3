"""Benchmark 1: the receiver against bare aiohttp, same load generator, same run.

Signed `POST /webhooks/eduzz` with distinct bodies; the receiver answers only after the
broker's ack (acks=all). Two baselines: bare aiohttp that reads the body and answers 200,
and the same handler awaiting the receiver's own Kafka send before answering (so the
ratio to it is what the receiver's checks cost, the Kafka round trip excluded). With
`--baseline REF`, the receiver of that git ref (`git archive`d) runs in the same rounds too.

    python -m tests.bench.receiver [N] [--rounds 3] [--baseline main]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from consumer.ops.broker import EmbeddedBroker, free_port
from consumer.worker import ensure_topic
from tests.bench import procs
from tests.bench.bodies import SECRET, TOKEN


def receiver(broker: EmbeddedBroker, topic: str, port: int, *extra: str,  # type: ignore[no-untyped-def]
             root: Path = procs.ROOT):
    """A `learnstream ingest` process on `port` (the code at `root`), ready."""
    proc = procs.python("-m", "ingest", "--host", "127.0.0.1", "--port", str(port),
                        "--bootstrap", broker.bootstrap, "--topic", topic,
                        "--eduzz-secrets", SECRET, "--toolzz-token", TOKEN,
                        "--log-level", "WARNING", *extra, root=root)
    procs.wait_http(f"http://127.0.0.1:{port}/readyz")
    return proc


def measure(proc, port: int, requests: int, connections: int,  # type: ignore[no-untyped-def]
            broker_pid: int | None = None) -> dict[str, object]:
    """Warm up, then one measured load run; the generator's figures plus peak RSS and the
    CPU each process used per request (the server's, and the broker's when it has one):
    on shared cores a rate moves with the neighbours, CPU per request much less."""
    procs.load(port, min(2000, requests), connections, seed=99)
    peak = procs.Peak(proc.pid)
    cpu = procs.cpu_seconds(proc.pid)
    broker = procs.cpu_seconds(broker_pid) if broker_pid else 0.0
    result = procs.load(port, requests, connections)
    result["server_cpu_us_per_request"] = round(
        (procs.cpu_seconds(proc.pid) - cpu) / requests * 1e6, 1)
    result["generator_cpu_us_per_request"] = result.pop("send_cpu_us_per_request")
    if broker_pid:
        result["broker_cpu_us_per_request"] = round(
            (procs.cpu_seconds(broker_pid) - broker) / requests * 1e6, 1)
    result["peak_rss_mb"] = peak.stop()
    return result


STALLED, STALLED_BYTES = 150, 1024 * 1024  # what issue 15 tried: 150 unsigned 1 MB bodies


async def _stall(port: int, count: int, size: int, hold: float) -> int:
    """`count` unsigned bodies of `size` declared bytes, all sent but the last byte, held
    open for `hold` seconds; how many the receiver refused with 503 meanwhile."""
    head = (b"POST /webhooks/eduzz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % size)
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]
    payload = b"{" + b" " * (size - 2)
    refused = 0
    try:
        for _, writer in conns:
            writer.write(head + payload)
        await asyncio.gather(*(w.drain() for _, w in conns))
        await asyncio.sleep(hold)
        for reader, _ in conns:
            try:
                line = await asyncio.wait_for(reader.readline(), 0.01)
            except TimeoutError:
                continue  # still being read: it holds its bytes
            refused += line.startswith(b"HTTP/1.1 503")
    finally:
        for _, writer in conns:
            writer.close()
    return refused


def stalled(proc, port: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Peak RSS of a receiver while 150 stalled unsigned 1 MB bodies are held open."""
    before = procs.rss_mb(proc.pid)
    peak = procs.Peak(proc.pid)
    started = time.monotonic()
    refused = asyncio.run(_stall(port, STALLED, STALLED_BYTES, hold=2.0))
    result: dict[str, object] = {"bodies": STALLED, "refused_503": refused,
                                 "rss_before_mb": round(before, 1), "peak_rss_mb": peak.stop(),
                                 "seconds": round(time.monotonic() - started, 1)}
    time.sleep(1.0)
    result["rss_after_mb"] = round(procs.rss_mb(proc.pid), 1)
    return result


def stalled_run(broker: EmbeddedBroker, topic: str) -> dict[str, object]:
    """The stall against the default byte budget and, as the same-run baseline, against a
    budget too large to matter (what the receiver did before it had one)."""
    out: dict[str, object] = {}
    for name, extra in (("unbounded", ("--max-unverified-bytes", str(1 << 40))),
                        ("budget", ())):
        port = free_port()
        proc = receiver(broker, topic, port, *extra)
        try:
            out[name] = stalled(proc, port)
        finally:
            procs.stop(proc)
    return out


def _one(broker: EmbeddedBroker, topic: str, name: str, requests: int,
         connections: int, base_root: Path | None = None) -> dict[str, object]:
    port = free_port()
    if name == "receiver":
        proc = receiver(broker, topic, port)
    elif name == "receiver_baseline":
        assert base_root is not None
        proc = receiver(broker, topic, port, root=base_root)
    else:
        kafka: tuple[str, ...] = (("--bootstrap", broker.bootstrap, "--topic", topic)
                                  if "kafka" in name else ())
        if name.endswith("tail_keys"):
            kafka += ("--tail-keys",)
        proc = procs.python("-m", "tests.bench.bare", "--port", str(port), *kafka)
        procs.wait_http(f"http://127.0.0.1:{port}/readyz")
    try:
        return measure(proc, port, requests, connections, broker.pid)
    finally:
        procs.stop(proc)


def _median(runs: list[dict[str, object]]) -> dict[str, object]:
    """The run of median rate, with every round's rate and server CPU beside it."""
    ranked = sorted(runs, key=lambda r: float(r["rps"]))  # type: ignore[arg-type]
    out = dict(ranked[len(ranked) // 2])
    out["rps_rounds"] = [r["rps"] for r in runs]
    out["server_cpu_us_rounds"] = [r["server_cpu_us_per_request"] for r in runs]
    return out


def run(broker: EmbeddedBroker, requests: int, connections: int = 64,
        rounds: int = 3, baseline: str | None = None,
        with_stalled: bool = True, tail_keys: bool = False) -> dict[str, object]:
    """The servers under the same load, interleaved for `rounds` rounds: bare aiohttp,
    bare aiohttp awaiting the same Kafka send (the receiver's Publisher), the receiver (and
    the receiver at git ref `baseline`); the median round of each, ratios of the medians,
    and the ratio of each round to its own round's bare + Kafka (rounds drift with the
    neighbours' load; a round's servers run back to back)."""
    topic = "bench-receiver"
    asyncio.run(ensure_topic(broker.bootstrap, topic, 3))
    names: tuple[str, ...] = ("bare_aiohttp", "bare_aiohttp_kafka", "receiver")
    if tail_keys:  # the bare + Kafka baseline as it was before 2026-12-04 (tests/bench/bare.py)
        names += ("bare_aiohttp_kafka_tail_keys",)
    base_root = None
    if baseline is not None:
        from tests.bench.consumer import checkout
        base_root = checkout(baseline)
        names += ("receiver_baseline",)
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            runs[name].append(_one(broker, topic, name, requests, connections, base_root))
    out: dict[str, object] = {name: _median(r) for name, r in runs.items()}
    rps = {name: float(r["rps"]) for name, r in out.items()}  # type: ignore[index]
    out["ratio_to_bare_kafka"] = round(rps["receiver"] / rps["bare_aiohttp_kafka"], 2)
    out["ratio_to_bare_kafka_rounds"] = [
        round(float(r["rps"]) / float(b["rps"]), 2)  # type: ignore[arg-type]
        for r, b in zip(runs["receiver"], runs["bare_aiohttp_kafka"], strict=True)]
    out["ratio_to_bare"] = round(rps["receiver"] / rps["bare_aiohttp"], 2)
    if baseline is not None:
        out["baseline_ref"] = baseline
        out["ratio_to_baseline"] = round(rps["receiver"] / rps["receiver_baseline"], 2)
        out["baseline_ratio_to_bare_kafka"] = round(
            rps["receiver_baseline"] / rps["bare_aiohttp_kafka"], 2)
    if tail_keys:
        out["ratio_to_bare_kafka_tail_keys"] = round(
            rps["receiver"] / rps["bare_aiohttp_kafka_tail_keys"], 2)
    out["ratio"] = out["ratio_to_bare"]  # the name `learnstream bench` has printed so far
    cpu = {name: float(r["server_cpu_us_per_request"]) for name, r in out.items()  # type: ignore[index]
           if name in names}
    out["server_cpu_ratio_to_bare_kafka"] = round(cpu["bare_aiohttp_kafka"] / cpu["receiver"], 2)
    if with_stalled:
        out["stalled_unsigned_1mb_bodies"] = stalled_run(broker, topic)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("requests", type=int, nargs="?", default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="git ref whose receiver runs in the same rounds")
    parser.add_argument("--no-stalled", action="store_true",
                        help="leave out the stalled-bodies memory run")
    parser.add_argument("--tail-keys", action="store_true",
                        help="also run the bare + Kafka baseline as it was before 2026-12-04 "
                             "(keyed by the body's last 16 bytes, no record headers)")
    args = parser.parse_args()
    broker = EmbeddedBroker().start()
    try:
        print(json.dumps(run(broker, args.requests, rounds=args.rounds, baseline=args.baseline,
                             with_stalled=not args.no_stalled, tail_keys=args.tail_keys)))
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
