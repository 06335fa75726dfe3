"""Benchmark: what the store's checkpoint_threshold moves (prints, never asserts).

    python -m tests.bench.checkpoint [--store FILE] [--events 100000] [--rounds 2]

DuckDB checkpoints on its own whenever the WAL reaches checkpoint_threshold (16 MB by
default; the store sets consumer/store/connection.py's CHECKPOINT_THRESHOLD), and the
snapshot checkpoints before it copies. On a copy of `--store` (e.g. a views-bench store under
/work/bench-stores/; default an empty store), `--events` distinct events are written in
consumer batches of 10,000 (about one snapshot interval's worth), then the CHECKPOINT the
snapshot starts with is timed, then the snapshot itself. Both thresholds run interleaved,
`--rounds` times each; medians of wall and CPU seconds. The first open of `--store` (a
migration, when it was made by an older version) is timed once.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from consumer.snapshot import publish
from consumer.sources.decoder import Decoder
from consumer.store import Store
from tests.bench.snapshot import ingest

THRESHOLDS = ("16MB", "256MB")
START = 500_000_000  # event ids far from any the views bench generates


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall, CPU) seconds of `fn()` (CPU of this process, all threads)."""
    started, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - started, time.process_time() - cpu


def one(base: Path, where: Path, threshold: str, events: int, decoder: Decoder,
        ) -> dict[str, float]:
    """Write `events` into a copy of `base` at `threshold`, then checkpoint and snapshot."""
    path = where / "learnstream.duckdb"
    shutil.copyfile(base, path)
    store = Store(path)
    try:
        store.query(f"set checkpoint_threshold = '{threshold}'")
        write = timed(lambda: ingest(store, decoder, START, events))
        wal_mb = Path(str(path) + ".wal").stat().st_size / 1e6 if Path(
            str(path) + ".wal").exists() else 0.0
        checkpoint = timed(lambda: store.query("checkpoint"))
        snapshot = timed(lambda: publish(store, where / "analytics.duckdb"))
    finally:
        store.close()
    path.unlink()
    return {"write_s": write[0], "write_cpu_s": write[1], "wal_mb": wal_mb,
            "checkpoint_s": checkpoint[0], "checkpoint_cpu_s": checkpoint[1],
            "snapshot_s": snapshot[0], "snapshot_cpu_s": snapshot[1],
            "events_per_s": events / write[0]}


def run(store: str | None, events: int, rounds: int) -> dict[str, Any]:
    zone = ZoneInfo("America/Sao_Paulo")
    decoder = Decoder({"eduzz": zone, "toolzz": zone})
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.duckdb"
        out: dict[str, Any] = {"events": events, "store": store}
        if store:
            shutil.copyfile(store, base)
        opened = timed(lambda: Store(base).close())  # a migration, if older, and a checkpoint
        out["first_open_s"], out["first_open_cpu_s"] = round(opened[0], 2), round(opened[1], 2)
        runs: dict[str, list[dict[str, float]]] = {t: [] for t in THRESHOLDS}
        for _ in range(rounds):
            for threshold in THRESHOLDS:
                runs[threshold].append(one(base, Path(tmp), threshold, events, decoder))
    for threshold, rs in runs.items():
        out[threshold] = {k: round(statistics.median(r[k] for r in rs), 3) for k in rs[0]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", help="a store file to copy (default: an empty store)")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    out = run(args.store, args.events, args.rounds)
    print(f"first open of the store: {out['first_open_s']} s ({out['first_open_cpu_s']} s CPU)")
    print(f"{'threshold':>9} {'write s':>8} {'cpu s':>6} {'events/s':>9} {'WAL MB':>7} "
          f"{'checkpoint s':>12} {'cpu s':>6} {'snapshot s':>10} {'cpu s':>6}")
    for t in THRESHOLDS:
        r = out[t]
        print(f"{t:>9} {r['write_s']:>8.2f} {r['write_cpu_s']:>6.2f} {r['events_per_s']:>9.0f} "
              f"{r['wal_mb']:>7.1f} {r['checkpoint_s']:>12.3f} {r['checkpoint_cpu_s']:>6.2f} "
              f"{r['snapshot_s']:>10.3f} {r['snapshot_cpu_s']:>6.2f}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
