"""Benchmark: the consumer's decode and write without Kafka, and the writer's ceiling.

    python -m tests.bench.write_path [--events 200000] [--rounds 2]

The consumer bench's messages (tests/bench/consumer.py `messages`: the mix, 8% redeliveries)
as records of 3 partitions in batches of 10,000 go through the consumer's own `Decoder` and
`Store.write` into a fresh store, in this process, with no broker. Two modes, interleaved:

- serial: each batch decoded, then written, as the Worker does;
- write only: every batch decoded before the clock starts, then only the writes: the rate the
  writer would reach if decoding cost it nothing (decoded elsewhere, for free).

Then the fold of every pending row, timed apart; `folded_per_s` counts it. The write-only
figure over the consumer bench's floor is the most a decode moved off the writer could give
a fresh store (README Performance, "Where a fresh store's 0.5 of the floor stands").
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from aiokafka import TopicPartition

from consumer.settings import ConsumerSettings
from consumer.sources.decoder import Decoder
from consumer.store import Store
from consumer.worker import BACKLOG_FOLD_AT, decoded
from tests.bench.consumer import messages

BATCH = 10_000
PARTITIONS = 3

class Record(NamedTuple):
    """What the worker reads of an aiokafka ConsumerRecord."""

    value: bytes
    headers: list[tuple[str, bytes]]
    offset: int
    timestamp: int


Records = dict[TopicPartition, list[Record]]


def batches(events: int) -> list[Records]:
    """The messages as polled: per partition in offset order, BATCH at a time."""
    received = datetime.now(UTC).isoformat().encode()
    logs: Records = {TopicPartition("bench", p): [] for p in range(PARTITIONS)}
    parts = list(logs.values())
    for i, (source, body) in enumerate(messages(events)):
        log = parts[i % PARTITIONS]
        log.append(Record(body, [("source", source.encode()), ("received_at", received)],
                          len(log), 0))
    per = BATCH // PARTITIONS
    longest = max(map(len, parts))
    return [{tp: log[at:at + per] for tp, log in logs.items() if log[at:at + per]}
            for at in range(0, longest, per)]


def one(polled: list[Records], write_only: bool) -> dict[str, float]:
    """One pass into a fresh store: seconds decoding, writing and folding, rates."""
    settings = ConsumerSettings()
    decoder = Decoder(settings.zones())
    total = sum(len(m) for records in polled for m in records.values())
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "learnstream.duckdb", settings.memory_limit)
        ready = [decoded(decoder, records) for records in polled] if write_only else []
        gc.collect()
        gc.freeze()  # as the Worker does after start-up, and it pauses the collector a batch
        gc.disable()
        decoding = writing = 0.0
        started, cpu = time.perf_counter(), time.process_time()
        for i, records in enumerate(polled):
            at = time.perf_counter()
            batch = ready[i] if write_only else decoded(decoder, records)
            written = time.perf_counter()
            # A full batch, as under a backlog: the fold is left for after (Worker).
            store.write(batch, "bench", BACKLOG_FOLD_AT * store.fold_at)
            decoding, writing = decoding + written - at, writing + time.perf_counter() - written
        window, cpu = time.perf_counter() - started, time.process_time() - cpu
        gc.enable()
        at = time.perf_counter()
        store.fold()
        folding = time.perf_counter() - at
        store.close()
        gc.unfreeze()
    return {"messages": total, "per_s": total / window, "folded_per_s": total / (window + folding),
            "decode_s": decoding, "write_s": writing, "fold_s": folding,
            "cpu_us_per_msg": cpu / total * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    polled = batches(args.events)
    runs: dict[str, list[dict[str, float]]] = {"serial": [], "write_only": []}
    for r in range(args.rounds):
        for mode in ("serial", "write_only") if r % 2 == 0 else ("write_only", "serial"):
            runs[mode].append(one(polled, mode == "write_only"))
    out = {mode: {key: round(statistics.median(run[key] for run in rs), 2) for key in rs[0]}
           for mode, rs in runs.items()}
    serial, ceiling = out["serial"], out["write_only"]
    print(f"{'mode':12} {'msgs/s':>9} {'folded':>9} {'decode s':>9} {'write s':>8} "
          f"{'fold s':>7} {'CPU us/msg':>10}")
    for mode, m in out.items():
        print(f"{mode:12} {m['per_s']:>9,.0f} {m['folded_per_s']:>9,.0f} {m['decode_s']:>9.2f} "
              f"{m['write_s']:>8.2f} {m['fold_s']:>7.2f} {m['cpu_us_per_msg']:>10.1f}")
    print(f"write only / serial, every row folded: "
          f"{ceiling['folded_per_s'] / serial['folded_per_s']:.2f}")
    print(json.dumps({"events": args.events, "rounds": args.rounds, **out,
                      "rounds_raw": runs}))


if __name__ == "__main__":
    main()
