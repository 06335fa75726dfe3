"""A load generator in its own process: pre-built signed requests over keep-alive connections.

    python -m tests.bench.load --port P --requests N [--connections C] [--rate R] [--sources S]

Prints one JSON line: requests, statuses, seconds, requests/s, p50/p99/max latency (ms).
With `--rate`, requests are scheduled open-loop at R/s and latency counts from the scheduled
time, so a stalled server cannot hide its queueing (no coordinated omission).
Requests go only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter

from tests.bench.bodies import mixed, signed_request


async def _connection(port: int, requests: list[bytes], state: dict[str, int],
                      latencies: list[float], statuses: Counter[int], start: float,
                      rate: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while state["next"] < len(requests):
            i = state["next"]
            state["next"] += 1
            due = start + i / rate if rate else time.perf_counter()
            if rate and due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
            writer.write(requests[i])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - due)
            statuses[status] += 1
    finally:
        writer.close()


async def run(port: int, requests: list[bytes], connections: int, rate: float) -> dict[str, object]:
    """Send every request once; the figures."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    state = {"next": 0}
    start = time.perf_counter()
    await asyncio.gather(*(_connection(port, requests, state, latencies, statuses, start, rate)
                           for _ in range(connections)))
    seconds = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {"requests": len(latencies), "statuses": dict(statuses), "seconds": round(seconds, 3),
            "rps": round(len(latencies) / seconds), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "max_ms": round(latencies[-1] * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="requests/s; 0 = as fast as possible")
    parser.add_argument("--sources", choices=("eduzz", "mixed"), default="eduzz")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    host = f"127.0.0.1:{args.port}"
    bodies = mixed(args.requests * (1 if args.sources == "mixed" else 3), seed=args.seed)
    requests = [signed_request(s, b, host) for s, b in bodies
                if args.sources == "mixed" or s == "eduzz"][:args.requests]
    print(json.dumps(asyncio.run(run(args.port, requests, args.connections, args.rate))))


if __name__ == "__main__":
    main()
