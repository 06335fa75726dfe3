"""A load generator in its own process: pre-built signed requests over keep-alive connections.

    python -m tests.bench.load --port P --requests N [--connections C] [--rate R] [--sources S]

Prints one JSON line: requests, statuses, seconds, requests/s, p50/p99/max latency (ms), and
`send_cpu_s`, the generator's own CPU while sending (building the signed requests before
the clock starts is left out: it is set-up, not load). With `--rate`, requests are
scheduled open-loop at R/s and latency counts from the scheduled time, so a stalled server
cannot hide its queueing (no coordinated omission). Requests go only to 127.0.0.1.

Each connection is an asyncio Protocol, not a stream: the generator shares the cores with
what it measures, so it reads a response with a few `find`s in `data_received` instead of
a stream's reads and futures (about half its CPU a request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections import Counter

from tests.bench.bodies import mixed, signed_request


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


class _Client(asyncio.Protocol):
    """One keep-alive connection: sends the next request when the previous answer is whole."""

    def __init__(self, shared: _Shared, done: asyncio.Future[None]) -> None:
        self.shared, self.done = shared, done
        self.buffer = b""
        self.due = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._next()

    def _next(self) -> None:
        s = self.shared
        if s.next >= len(s.requests):
            assert self.transport is not None
            self.transport.close()
            return
        i = s.next
        s.next += 1
        if s.rate:
            self.due = s.start + i / s.rate
            wait = self.due - time.perf_counter()
            if wait > 0:
                s.loop.call_later(wait, self._send, i)
                return
        else:
            self.due = time.perf_counter()
        self._send(i)

    def _send(self, i: int) -> None:
        assert self.transport is not None
        self.transport.write(self.shared.requests[i])

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data if self.buffer else data
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            self.buffer = buf
            return
        at = buf.lower().find(b"content-length:", 0, end)
        length = int(buf[at + 15:buf.find(b"\r\n", at)]) if at >= 0 else 0
        if len(buf) < end + 4 + length:
            self.buffer = buf
            return
        self.buffer = buf[end + 4 + length:]
        s = self.shared
        s.latencies.append(time.perf_counter() - self.due)
        s.statuses[int(buf[9:12])] += 1
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


class _Shared:
    def __init__(self, requests: list[bytes], rate: float) -> None:
        self.requests, self.rate, self.next = requests, rate, 0
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.loop = asyncio.get_running_loop()
        self.start = time.perf_counter()
        self.started_at = time.monotonic()  # the system's clock: other processes compare it


async def run(port: int, requests: list[bytes], connections: int, rate: float) -> dict[str, object]:
    """Send every request once; the figures."""
    shared = _Shared(requests, rate)
    cpu = _cpu()
    dones = []
    for _ in range(connections):
        done: asyncio.Future[None] = shared.loop.create_future()
        await shared.loop.create_connection(lambda d=done: _Client(shared, d),  # type: ignore[misc]
                                            "127.0.0.1", port)
        dones.append(done)
    await asyncio.gather(*dones)
    seconds = time.perf_counter() - shared.start
    send_cpu = _cpu() - cpu
    latencies = sorted(shared.latencies)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {"requests": len(latencies), "statuses": dict(shared.statuses),
            "started_monotonic": shared.started_at,
            "seconds": round(seconds, 3), "rps": round(len(latencies) / seconds),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(latencies[-1] * 1000, 2),
            "send_cpu_s": round(send_cpu, 3),
            "send_cpu_us_per_request": round(send_cpu / max(1, len(latencies)) * 1e6, 1)}


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
