"""Benchmark: what folding the current state costs the consumer's writes (prints, never asserts).

    python -m tests.bench.fold --store PATH [--events 300000] [--rounds 2]
    python -m tests.bench.fold --stages [--store PATH] [--events 50000] [--rounds 2]

`--stages`: one fold of `events` pending rows, state by state (staging the merged rows, then
writing them back), wall and CPU seconds of each; into a copy of PATH, or without PATH into
a fresh store holding 300,000 events folded already (what a fresh store's snapshot folds).

PATH is a store holding events already (`python -m tests.bench.views --keep PATH` makes one
with 10M). The same decoded batches of 1,000 messages are written with `Store.write` into
fresh copies of it, alternately folding every FOLD_AT learning rows (what the consumer does)
and never folding (the baseline: no state kept at all); events/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from consumer.rows import Batch
from consumer.settings import ConsumerSettings
from consumer.sources.decoder import Decoder, Message
from consumer.store import Store
from consumer.store.state import FOLD_AT, fold
from tests.bench.bodies import mixed

BATCH = 1_000


def batches(events: int, seed: int = 11) -> list[Batch]:
    """`events` realistic messages decoded as the consumer would, in batches, placed at
    offsets past anything stored (partition 7)."""
    decoder, received = Decoder(ConsumerSettings().zones()), datetime.now(UTC).isoformat()
    out, batch = [], Batch()
    for i, (source, body) in enumerate(mixed(events, seed=seed)):
        headers = [("source", source.encode()), ("received_at", received.encode())]
        batch.add(7, 10**9 + i, decoder.decode(Message(body, headers, 7, 10**9 + i, 0)))
        if batch.messages >= BATCH:
            out.append(batch)
            batch = Batch()
    return [*out, batch] if batch.messages else out


def write(store_path: Path, work: Path, todo: list[Batch], fold_at: int) -> float:
    """Events/s writing `todo` into a fresh copy of the store."""
    copy = work / "copy.duckdb"
    shutil.copyfile(store_path, copy)
    store = Store(copy, fold_at=fold_at)
    started = time.perf_counter()
    for batch in todo:
        store.write(batch, "bench")
    seconds = time.perf_counter() - started
    store.close()  # untimed: its fold is once per run, not per batch
    copy.unlink()
    return sum(b.messages for b in todo) / seconds


def stages(store_path: Path | None, work: Path, todo: list[Batch],
           before: list[Batch]) -> dict[str, list[float]]:
    """[wall, CPU] seconds of each stage of one fold of `todo`'s rows, written into a copy
    of the store (or a fresh one holding `before`'s rows, folded)."""
    copy = work / "stages.duckdb"
    if store_path:
        shutil.copyfile(store_path, copy)
    store = Store(copy, fold_at=10**15)
    for batch in before:
        store.write(batch, "bench")
    store.fold()
    for batch in todo:
        store.write(batch, "bench")
    timed: dict[str, list[float]] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    with store.transaction():
        store.run(lambda con: fold(con, stages=timed))
    timed["fold"] = [time.perf_counter() - wall, time.process_time() - cpu]
    store.close()
    copy.unlink()
    return timed


def main_stages(args: argparse.Namespace) -> None:
    """Each stage's median over the rounds."""
    store = Path(args.store) if args.store else None
    before = [] if store else batches(300_000, seed=12)
    todo = batches(args.events)
    runs = []
    with tempfile.TemporaryDirectory(dir=store.parent if store else None) as tmp:
        for _ in range(args.rounds):
            runs.append(stages(store, Path(tmp), todo, before))
    print(f"one fold of {args.events:,} events' rows into "
          f"{store or 'a fresh store of 300,000 events'}: wall / CPU s, median of "
          f"{args.rounds} (each run)")
    for name in runs[0]:
        wall = statistics.median(r[name][0] for r in runs)
        cpu = statistics.median(r[name][1] for r in runs)
        each = ", ".join(f"{r[name][0]:.2f}/{r[name][1]:.2f}" for r in runs)
        print(f"{name:32s} {wall:6.2f} {cpu:6.2f}   ({each})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", help="a store file with events")
    parser.add_argument("--events", type=int, default=0, help="300,000; 50,000 with --stages")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--stages", action="store_true", help="one fold, stage by stage")
    args = parser.parse_args()
    if args.stages:
        args.events = args.events or 50_000
        main_stages(args)
        return
    if not args.store:
        parser.error("--store is required without --stages")
    args.events = args.events or 300_000
    todo = batches(args.events)
    rates: dict[str, list[float]] = {"fold": [], "never": []}
    with tempfile.TemporaryDirectory(dir=Path(args.store).parent) as tmp:
        for _ in range(args.rounds):  # alternate, so drift on a noisy machine hits both
            rates["fold"].append(write(Path(args.store), Path(tmp), todo, FOLD_AT))
            rates["never"].append(write(Path(args.store), Path(tmp), todo, 10**15))
    fold, never = max(rates["fold"]), max(rates["never"])
    print(f"{args.events:,} events in batches of {BATCH:,} into a copy of {args.store}")
    print(f"folding every {FOLD_AT:,} learning rows: {fold:,.0f} events/s (runs "
          f"{', '.join(f'{r:,.0f}' for r in rates['fold'])})")
    print(f"never folding (baseline):            {never:,.0f} events/s (runs "
          f"{', '.join(f'{r:,.0f}' for r in rates['never'])})")
    print(f"ratio: {fold / never:.2f}")


if __name__ == "__main__":
    main()
