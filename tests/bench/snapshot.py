"""Benchmark: the cost of one snapshot against the cost of ingesting what it copies (prints,
never asserts).

    python -m tests.bench.snapshot [--sizes 1000000,5000000] [--dir DIR]

Events are distinct AlpaClass lesson_finished webhooks (about 0.5 KB each, one raw row and
one learning row), decoded and written in batches of 10,000 as the consumer does (no
Kafka). At each size: the file's size, one snapshot taken right after a batch (the steady
state: CHECKPOINT of that batch's WAL, copy, rename), the share of a 10 s interval it takes,
the same split into the checkpoint and the copy, and what an fsync of the copy would add.
Each figure is the median of three.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from consumer.rows import Batch
from consumer.snapshot import publish
from consumer.sources.decoder import Decoder, Message
from consumer.store import Store

FIXTURES = Path(__file__).parent.parent / "fixtures"
BATCH = 10_000
HEADERS = [("source", b"eduzz"), ("received_at", b"2024-07-01T12:00:00.000000Z")]


def bodies(start: int, count: int) -> list[bytes]:
    """`count` distinct lesson events: ids, learners, lessons and times vary."""
    template = json.loads((FIXTURES / "alpaclass" / "student_lesson_finished.json").read_bytes())
    data = template["data"]
    out = []
    for i in range(start, start + count):
        template["id"] = f"bench-{i:09d}"
        template["sentDate"] = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T12:{i % 60:02d}:00.000Z"
        data["student"]["id"], data["student"]["email"] = f"s{i % 50_021}", \
            f"learner{i % 50_021}@example.com"
        data["lesson"]["id"] = f"lesson-{i % 997}"
        data["course"]["id"] = f"course-{i % 41}"
        out.append(json.dumps(template).encode())
    return out


def ingest(store: Store, decoder: Decoder, start: int, count: int) -> float:
    """Decode and write `count` events from offset `start`; seconds taken."""
    started = time.perf_counter()
    for offset in range(start, start + count, BATCH):
        n = min(BATCH, start + count - offset)
        batch = Batch()
        for i, body in enumerate(bodies(offset, n)):
            batch.add(0, offset + i, decoder.decode(Message(body, HEADERS, 0, offset + i, 0)))
        store.write(batch, "bench")
    return time.perf_counter() - started


def fsync_seconds(path: Path) -> float:
    """What flushing the copy to disk would add (the snapshot skips it)."""
    started = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000000,5000000")
    parser.add_argument("--dir", default=None, help="where the files go (default: a temp dir)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    root = Path(args.dir or tempfile.mkdtemp(prefix="learnstream-bench-"))
    zone = ZoneInfo("America/Sao_Paulo")
    decoder = Decoder({"eduzz": zone, "toolzz": zone})
    store = Store(root / "learnstream.duckdb")
    dest = root / "analytics.duckdb"
    stored, ingest_s = 0, 0.0
    print(f"{'events':>10} {'ingest s':>9} {'events/s':>9} {'file MB':>8} {'snapshot s':>10} "
          f"{'of 10 s':>8} {'checkpoint s':>12} {'copy s':>7} {'fsync s':>8}")
    results = []
    for size in sizes:
        ingest_s += ingest(store, decoder, stored, size - stored)
        stored = size
        runs, checkpoints, copies = [], [], []
        for _ in range(3):  # after one more batch each time, as between two real batches
            ingest_s += ingest(store, decoder, stored, BATCH)
            stored += BATCH
            runs.append(publish(store, dest).seconds)
            # The same again, split: the checkpoint of one batch, then the copy alone.
            ingest_s += ingest(store, decoder, stored, BATCH)
            stored += BATCH
            started = time.perf_counter()
            store.query("checkpoint")
            checkpoints.append(time.perf_counter() - started)
            copies.append(publish(store, dest).seconds)
        snap_s, checkpoint_s, copy_s = (statistics.median(x) for x in (runs, checkpoints,
                                                                         copies))
        sync_s = fsync_seconds(dest)
        mb = dest.stat().st_size / 1e6
        row = {"events": stored, "ingest_s": round(ingest_s, 1),
               "events_per_s": round(stored / ingest_s), "file_mb": round(mb),
               "snapshot_s": round(snap_s, 3), "share_of_10s": round(snap_s / 10, 3),
               "checkpoint_s": round(checkpoint_s, 3), "copy_s": round(copy_s, 3),
               "fsync_s": round(sync_s, 3)}
        results.append(row)
        print(f"{stored:>10} {ingest_s:>9.1f} {stored / ingest_s:>9.0f} {mb:>8.0f} "
              f"{snap_s:>10.3f} {snap_s / 10:>8.1%} {checkpoint_s:>12.3f} {copy_s:>7.3f} "
              f"{sync_s:>8.3f}")
    store.close()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
