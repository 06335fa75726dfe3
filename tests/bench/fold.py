"""Benchmark: what folding the current state costs the consumer's writes (prints, never asserts).

    python -m tests.bench.fold --store PATH [--events 300000] [--rounds 2]

PATH is a store holding events already (`python -m tests.bench.views --keep PATH` makes one
with 10M). The same decoded batches of 1,000 messages are written with `Store.write` into
fresh copies of it, alternately folding every FOLD_AT learning rows (what the consumer does)
and never folding (the baseline: no state kept at all); events/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from consumer.rows import Batch
from consumer.settings import ConsumerSettings
from consumer.sources.decoder import Decoder, Message
from consumer.store import Store
from consumer.store.state import FOLD_AT
from tests.bench.bodies import mixed

BATCH = 1_000


def batches(events: int) -> list[Batch]:
    """`events` realistic messages decoded as the consumer would, in batches, placed at
    offsets past anything stored (partition 7)."""
    decoder, received = Decoder(ConsumerSettings().zones()), datetime.now(UTC).isoformat()
    out, batch = [], Batch()
    for i, (source, body) in enumerate(mixed(events, seed=11)):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True, help="a store file with events")
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
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
