"""Benchmark: `forget` of one person, then of 1,000 in one request, in a store of N generated
learning events while a writer keeps storing batches (prints, never asserts).

    python -m tests.bench.forget [--rows 10000000] [--keep PATH]

The store is built by tests/bench/views.py's generator (learners `learner<n>@example.com`;
its raw bodies are small, so the body scan costs less than with real payloads). Ingestion
is the consumer's own write path without Kafka: a thread calling Store.write with batches of
1,000 decoded AlpaClass events, as the worker does; the request is applied as the consumer
applies it (control.apply, then the snapshot republished), under the same store lock, so the
writer's longest wait between two batches is the consumer's stall.

Per request: wall seconds split into erase (the transaction), rewrite (the clean copy swapped
in) and publish (the snapshot), the process's CPU seconds, and the load average. Baselines in
the same run, on the same file: one snapshot copy (what every snapshot costs) and the floor of
any rewrite, a plain `COPY FROM DATABASE` of the store into an empty file (no schema, so no
key to build).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

import duckdb

from consumer import control
from consumer.rows import Batch
from consumer.settings import ConsumerSettings
from consumer.snapshot import publish
from consumer.sources.decoder import Decoder, Message
from consumer.store import Store, apply_schema
from consumer.store.state import refold
from consumer.store.suppression import use_key
from tests.bench.views import generate

KEY = "bench-pseudonym-key-0123456789"
BODY = ('{"id":"w%d","event":"alpaclass.student_lesson_finished","sentDate":'
        '"2024-06-12T12:00:10.000Z","data":{"student":{"id":"s%d","name":"Writer %d",'
        '"email":"writer%d@example.org"},"lesson":{"id":"l1","name":"L"},"course":'
        '{"id":"c1","name":"C"}}}')


class Writer(threading.Thread):
    """Stores batches of 1,000 new events until stopped, noting when each was stored."""

    def __init__(self, store: Store) -> None:
        super().__init__(daemon=True)
        self.store, self.stop, self.done = store, threading.Event(), [time.perf_counter()]
        self.decoder = Decoder(ConsumerSettings().zones())

    def stall(self, start: float, end: float) -> float:
        """The longest wait between two stored batches around [start, end]: waits for the
        first batch stored after `end` (the one the request held up)."""
        while self.done[-1] <= end:
            time.sleep(0.01)
        around = [t for t in self.done if t > start]
        before = max([t for t in self.done if t <= start], default=start)
        return max(b - a for a, b in zip([before, *around], around, strict=False))

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            batch = Batch()
            for _ in range(1000):
                body = (BODY % (n, n % 5000, n % 5000, n % 5000)).encode()
                batch.add(1, 10**9 + n, self.decoder.decode(Message(
                    body, [("source", b"eduzz"), ("received_at", b"2024-06-12T12:00:11Z")],
                    1, 10**9 + n, 0)))
                n += 1
            self.store.write(batch, "bench")
            self.done.append(time.perf_counter())


def cpu() -> float:
    """CPU seconds of this process so far (every thread, DuckDB's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def forget(store: Store, snapshot: Path, people: list[list[str]]) -> dict[str, float]:
    """Apply one forget request as the consumer does; its figures."""
    started, cpu_started, load = time.perf_counter(), cpu(), os.getloadavg()[0]
    counts = control.apply(store, "forget", {"people": people})
    applied = time.perf_counter()
    publish(store, snapshot)
    done = time.perf_counter()
    return {"people": len(people), "seconds": round(done - started, 2),
            "erase_seconds": round(applied - started - counts["rewrite_ms"] / 1000, 2),
            "rewrite_seconds": round(counts["rewrite_ms"] / 1000, 2),
            "publish_seconds": round(done - applied, 2),
            "cpu_seconds": round(cpu() - cpu_started, 1), "load_before": round(load, 2),
            "rows_removed": sum(v for k, v in counts.items() if k.endswith("events"))}


def plain_copy(store: Store, into: Path) -> tuple[float, float]:
    """Seconds and CPU seconds of `COPY FROM DATABASE` of the store into an empty file."""
    def copy(con: duckdb.DuckDBPyConnection) -> None:
        (db,) = con.execute("select current_database()").fetchone() or ("",)
        con.execute("attach $1 as bench_floor (storage_version 'v1.0.0')", [str(into)])
        con.execute(f'copy from database "{db}" to bench_floor')
        con.execute("detach bench_floor")
    started, cpu_started = time.perf_counter(), cpu()
    store.run(copy)
    seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_started
    into.unlink()
    return round(seconds, 2), round(cpu_seconds, 1)


def run(rows: int, keep: str | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "learnstream.duckdb"
        if keep and Path(keep).exists():
            shutil.copyfile(keep, path)
        else:
            con = duckdb.connect(str(path), config={"storage_compatibility_version": "v1.0.0"})
            apply_schema(con)
            generate(con, rows, rows // 10)  # invoices as the views benchmark makes them
            con.execute("begin")
            refold(con)
            con.execute("commit")
            con.close()
            if keep:
                shutil.copyfile(path, keep)
        store = Store(path)
        use_key(store, KEY)
        snapshot = Path(tmp) / "analytics.duckdb"
        started = time.perf_counter()
        publish(store, snapshot)
        baseline = time.perf_counter() - started
        floor, floor_cpu = plain_copy(store, Path(tmp) / "floor.duckdb")
        events = store.query("select count(*) from learning_events")[1][0][0]
        writer = Writer(store)
        writer.start()
        time.sleep(5)
        quiet = (len(writer.done) - 1) / 5
        results = []
        for people in ([[f"email:learner{17}@example.com"]],
                       [[f"email:learner{n}@example.com"] for n in range(1000, 201000, 200)]):
            start = time.perf_counter()
            figures = forget(store, snapshot, people)
            figures["writer_stall_seconds"] = round(writer.stall(start, time.perf_counter()), 2)
            results.append(figures)
        writer.stop.set()
        writer.join()
        store.close()
        return {"learning_events": events, "file_mb": round(path.stat().st_size / 1e6),
                "snapshot_copy_seconds": round(baseline, 2), "plain_copy_seconds": floor,
                "plain_copy_cpu_seconds": floor_cpu, "cores": os.cpu_count(),
                "writer_batches_per_s_quiet": round(quiet, 1), "requests": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", help="store file to create, or copy if it exists")
    args = parser.parse_args()
    result = run(args.rows, args.keep)
    floor = max(float(result["plain_copy_seconds"]), 0.01)  # type: ignore[arg-type]
    print(f"{result['learning_events']:,} learning events, {result['file_mb']} MB, "
          f"{result['cores']} cores; same-run baselines: snapshot copy "
          f"{result['snapshot_copy_seconds']} s, plain COPY FROM DATABASE "
          f"{result['plain_copy_seconds']} s ({result['plain_copy_cpu_seconds']} CPU s)")
    print(f"{'people':>7} {'total s':>8} {'erase s':>8} {'rewrite s':>10} {'publish s':>10} "
          f"{'stall s':>8} {'CPU s':>6} {'load':>5} {'rewrite/plain copy':>19}")
    for r in result["requests"]:  # type: ignore[attr-defined]
        print(f"{r['people']:>7} {r['seconds']:>8} {r['erase_seconds']:>8} "
              f"{r['rewrite_seconds']:>10} {r['publish_seconds']:>10} "
              f"{r['writer_stall_seconds']:>8} {r['cpu_seconds']:>6} {r['load_before']:>5} "
              f"{r['rewrite_seconds'] / floor:>19.2f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
