"""Benchmark 2: a full topic to committed DuckDB rows, each figure beside its same-run baselines.

    python -m tests.bench.consumer [--events 1000000] [--large 10000000 | --large-store FILE]
                                   [--baseline ea2454f] [--rounds 1]

The topic holds `events` realistic messages (tests/bench/bodies.py's mix) plus 8% redeliveries
of earlier messages (a quarter of them resent with a new sentDate where the body has one, as
Eduzz resends). Measured over that same topic, in one run:

- bare: a plain `getmany` loop that does nothing else (the Kafka ceiling);
- floor: the best raw-rows-only loop that keeps exact dedupe under the same redeliveries
  (event_uid, an exact in-memory set of 128-bit digests, body VARCHAR, no index, the batch
  appended, offsets in the same transaction, checkpoint_threshold 256 MB): any design that
  keeps every body is bounded by it;
- the consumer of this tree and of `--baseline` (a git ref, `git archive`d into a temporary
  directory), each as `learnstream consume` in a process of its own, done when the group
  offsets it commits after each DuckDB commit cover the topic; on a fresh store and on a large
  pre-built store (`--large` learning events made in SQL by the baseline's
  tests/bench/views.py, so the candidate also migrates a store of the previous version; or a
  copy of `--large-store`, e.g. a views-bench store under /work/bench-stores/).
  Baseline and candidate run interleaved (`--rounds` times), medians reported. Their
  headline rate has every row they consumed folded into the current state: the window to
  the last commit plus the fold at shutdown of the rows still pending (`ours()`); the rate
  to the last commit alone is reported beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from consumer.ops.broker import EmbeddedBroker
from consumer.settings import ConsumerSettings
from consumer.worker import ensure_topic
from tests.bench import procs
from tests.bench.bodies import mixed

REDELIVERED = 0.08  # share of messages that repeat an earlier one
MEMORY = ConsumerSettings().memory_limit  # the consumer's default, for the floor too


def _resent(body: bytes) -> bytes:
    """The same event sent again: a new sentDate where the body has one (Eduzz resends)."""
    doc = msgspec.json.decode(body)
    if isinstance(doc, dict) and "sentDate" in doc:
        doc["sentDate"] = datetime.now(UTC).isoformat()
        return msgspec.json.encode(doc)
    return body


def messages(events: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """`events` distinct messages with REDELIVERED more repeating earlier ones, in order."""
    rng = random.Random(seed)
    out: list[tuple[str, bytes]] = []
    for source, body in mixed(events, seed=seed):
        out.append((source, body))
        if rng.random() < REDELIVERED / (1 - REDELIVERED):  # of all messages
            again_source, again = out[rng.randrange(max(1, len(out) - 5000), len(out))]
            out.append((again_source, _resent(again) if rng.random() < 0.25 else again))
    return out


async def fill(bootstrap: str, topic: str, events: int) -> tuple[int, float]:
    """Produce the messages as the receiver would; (messages, seconds taken)."""
    await ensure_topic(bootstrap, topic, 3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_batch_size=1024 * 1024, max_request_size=4 * 1024 * 1024)
    await producer.start()
    started = time.perf_counter()
    msgs = messages(events)
    try:
        pending = []
        for i, (source, body) in enumerate(msgs):
            headers = [("source", source.encode()),
                       ("received_at", datetime.now(UTC).isoformat().encode())]
            pending.append(await producer.send(topic, body, key=str(i % 50_000).encode(),
                                               headers=headers))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return len(msgs), time.perf_counter() - started


def _consumer(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                            auto_offset_reset="earliest", enable_auto_commit=False,
                            max_partition_fetch_bytes=4 * 1024 * 1024,
                            session_timeout_ms=2000, heartbeat_interval_ms=400)


async def bare(bootstrap: str, topic: str, total: int, tag: str = "") -> float:
    """Messages/s of a plain getmany loop over the topic, timed from its first batch (the
    group join is not throughput)."""
    consumer = _consumer(bootstrap, topic, f"bare-{topic}{tag}")
    await consumer.start()
    try:
        seen, first, started = 0, 0, 0.0
        while seen < total:
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                seen += len(records)
                if not started:
                    first, started = seen, time.perf_counter()
    finally:
        await consumer.stop()
    return (total - first) / (time.perf_counter() - started)


class _Id(msgspec.Struct):
    id: str | int | None = None


_ID = msgspec.json.Decoder(_Id)


def _uid(source: str, body: bytes) -> str:
    """event_uid as consumer/sources/identity.py makes it (README "Guarantees")."""
    if source == "eduzz":
        event_id = _ID.decode(body).id
        if event_id is not None and event_id != "":
            return f"eduzz:{event_id}"
    return f"{source}:sha256:{hashlib.sha256(body).hexdigest()}"


def _digest(uid: str) -> int:
    return int.from_bytes(hashlib.md5(uid.encode(), usedforsecurity=False).digest())


async def floor(bootstrap: str, topic: str, total: int, store: str | None,
                tag: str = "") -> dict[str, float]:
    """Messages/s of the raw-rows-only loop with exact dedupe (module docstring), into a
    fresh file or a copy of `store`'s raw_events; timed from its first batch."""
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "floor.duckdb"),
                             config={"memory_limit": MEMORY, "checkpoint_threshold": "256MB"})
        con.execute("create table raw (event_uid varchar, source varchar, body varchar, "
                    "kafka_partition integer, kafka_offset bigint)")
        con.execute("create table offsets (p integer primary key, o bigint)")
        seen: set[int] = set()
        if store:
            con.execute(f"attach '{store}' as big (read_only)")
            con.execute("insert into raw select event_uid, source, body::varchar, "
                        "kafka_partition, kafka_offset from big.raw_events")
            seen = {(hi << 64) | lo for hi, lo in con.execute(
                "select md5_number_upper(event_uid), md5_number_lower(event_uid) from raw"
            ).fetchall()}
            con.execute("detach big")
            con.execute("checkpoint")
        appender = con.appender("raw")
        consumer = _consumer(bootstrap, topic, f"floor-{topic}{tag}")
        await consumer.start()
        try:
            done, first, started = 0, 0, 0.0
            while done < total:
                batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
                if not batches:
                    continue
                rows: list[tuple[str, str, str, int, int]] = []
                new: set[int] = set()
                for tp, records in batches.items():
                    for r in records:
                        source = dict(r.headers)["source"].decode()
                        uid = _uid(source, r.value)
                        d = _digest(uid)
                        if d in seen or d in new:
                            continue
                        new.add(d)
                        rows.append((uid, source, r.value.decode(), tp.partition, r.offset))
                con.execute("begin")
                appender.append_rows(rows)
                appender.flush()
                con.execute("insert or replace into offsets select unnest($1::integer[]), "
                            "unnest($2::bigint[])",
                            [[tp.partition for tp in batches],
                             [rs[-1].offset + 1 for rs in batches.values()]])
                con.execute("commit")
                seen |= new
                done += sum(map(len, batches.values()))
                if not started:
                    first, started = done, time.perf_counter()
        finally:
            await consumer.stop()
        rate = (total - first) / (time.perf_counter() - started)
        con.close()
    return {"per_s": rate}


class Committed:
    """Reads a group's committed offsets (what the consumer stored and committed)."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        self.topic = topic
        self._c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                   enable_auto_commit=False)

    async def __aenter__(self) -> Committed:
        await self._c.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._c.stop()

    async def total(self) -> int:
        """Messages covered by the committed offsets."""
        parts = self._c.partitions_for_topic(self.topic) or set()
        offsets = [await self._c.committed(TopicPartition(self.topic, p)) for p in parts]
        return sum(o or 0 for o in offsets)


FOLDED = re.compile(r"^(\S+ \S+) INFO consumer\.store\.state: folded .* in ([\d.]+) s$")


SNAPSHOT = re.compile(r"^(\S+ \S+) INFO consumer\.snapshot: snapshot .* in ([\d.]+)s")


def folds(log: str, pattern: re.Pattern[str] = FOLDED) -> list[tuple[datetime, float]]:
    """(when it ended, seconds) of every fold (or, with SNAPSHOT, snapshot without its
    fold) a consumer's INFO log reports."""
    return [(datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f"), float(m.group(2)))
            for m in map(pattern.match, log.splitlines()) if m]


def _consume(root: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`learnstream consume` of the code at `root`, its INFO log into `log`."""
    with open(log, "wb") as out:
        return procs.python("-m", "consumer", *args, "--session-timeout-ms", "2000",
                            "--log-level", "INFO", "--metrics-port", "0", root=root,
                            stderr=out)


async def ours(bootstrap: str, topic: str, total: int, root: Path, store: str | None,
               tag: str) -> dict[str, object]:
    """`learnstream consume` of the code at `root`, into a fresh data dir or one holding a
    copy of `store`: messages/s from its first commit until its commits cover the topic,
    seconds to its first commit (start-up, a migration included), memory.

    `per_s` counts the folds that came in that window (a snapshot's fold-first, or the
    writer's at FOLD_AT) but not the rows still pending when it ends, which the consumer
    folds at shutdown: so it is stopped then, and `folded_per_s` adds the seconds of the
    folds it logs after the window (the shutdown fold, before its last snapshot; of a fold
    begun inside the window, beside the batches, its seconds after the window alone, and
    `fold_s_straddling` those before). Every row consumed is then folded once, as in a long
    run, whether or not a fold fell inside the window (at 10M the first comes with the
    snapshot due ~30 s after start, or at FOLD_AT)."""
    group = f"ours-{topic}{tag}"
    with tempfile.TemporaryDirectory() as data:
        if store:
            shutil.copyfile(store, Path(data) / "learnstream.duckdb")
        log_path = Path(data) / "consumer.log"
        async with Committed(bootstrap, topic, group) as committed:
            started = time.perf_counter()
            proc = _consume(root, log_path, "--bootstrap", bootstrap, "--topic", topic,
                            "--group", group, "--data-dir", data)
            peak = procs.Peak(proc.pid)
            first, first_at, cpu_first = 0, 0.0, 0.0
            try:
                while (done := await committed.total()) < total:
                    if done and not first:  # timed from the first commit: a group join
                        first, first_at = done, time.perf_counter()  # is not throughput
                    if proc.poll() is not None:
                        raise RuntimeError(f"consumer exited with status {proc.returncode}")
                    if not first:
                        cpu_first = procs.cpu_seconds(proc.pid)
                    await asyncio.sleep(0.05)
                window = time.perf_counter() - first_at
                covered = datetime.now()  # the log's local time
                rate = (total - first) / window if first else 0.0
                end_rss = procs.rss_mb(proc.pid)
                # CPU per message after the first commit: steadier than the rate when other
                # work shares the cores.
                cpu_us = (procs.cpu_seconds(proc.pid) - cpu_first) / max(1, total - first) * 1e6
            finally:
                stopping = time.perf_counter()
                procs.stop(proc)
                stop_s = time.perf_counter() - stopping
            text = log_path.read_text(errors="replace")
        logged = folds(text)
        # Only the seconds after the window: a fold runs beside the batches (Store.fold), so
        # one begun inside the window and ended after it spent its first part inside it,
        # where the window's rate has it already.
        ended = [((at - covered).total_seconds(), s) for at, s in logged if at >= covered]
        after = sum(min(s, past) for past, s in ended)
        straddling = sum(max(0.0, s - past) for past, s in ended)
        begun = covered.timestamp() - window
        inside = [s for at, s in logged if begun <= at.timestamp() - s and at < covered]
        copies = [s for at, s in folds(text, SNAPSHOT)
                  if begun <= at.timestamp() - s and at < covered]
        return {"per_s": round(rate), "folded_per_s": round((total - first) / (window + after)),
                "folds_in_window": len(inside), "fold_s_in_window": round(sum(inside), 1),
                "snapshots_in_window": len(copies), "snapshot_s_in_window": round(sum(copies), 1),
                "fold_s_after": round(after, 1), "fold_s_straddling": round(straddling, 1),
                "stop_s": round(stop_s, 1),
                "startup_s": round(first_at - started, 1),
                "peak_rss_mb": peak.stop(), "rss_end_mb": round(end_rss, 1),
                "cpu_us_per_msg": round(cpu_us, 1)}


def checkout(ref: str) -> Path:
    """The tree at git `ref`, extracted once into a temporary directory (cached by commit)."""
    sha = subprocess.run(["git", "rev-parse", ref], cwd=procs.ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    where = Path(tempfile.gettempdir()) / f"learnstream-bench-{sha[:12]}"
    if not (where / "pyproject.toml").exists():
        where.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha], cwd=procs.ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


BUILD = """
import sys, duckdb
from consumer.store import apply_schema
from consumer.store.state import refold
from tests.bench.views import generate
con = duckdb.connect(sys.argv[1], config={"memory_limit": "2GB"})
apply_schema(con)
generate(con, int(sys.argv[2]), int(sys.argv[2]) // 10)
con.execute("begin"); refold(con); con.execute("commit"); con.execute("checkpoint")
"""


def build_large(root: Path, rows: int, path: Path) -> float:
    """A store of `rows` learning events made in SQL by the code at `root`; seconds taken."""
    started = time.perf_counter()
    proc = procs.python("-c", BUILD, str(path), str(rows), root=root)
    if proc.wait():
        raise RuntimeError("building the large store failed")
    return time.perf_counter() - started


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(float(r[key]) for r in runs), 1)


BASELINE = "ea2454f"  # main before issue 16's first changes (body VARCHAR, checkpoint size)


def run(broker: EmbeddedBroker, events: int, large: int = 0, baseline: str = BASELINE,
        rounds: int = 1, candidate: str | None = None,
        large_store: str | None = None, large_only: bool = False) -> dict[str, Any]:
    """Fill a topic, then time every loop over it (module docstring); medians and ratios."""
    topic = f"bench-consumer-{events}-{int(time.time())}"
    total, fill_s = asyncio.run(fill(broker.bootstrap, topic, events))
    base_root = checkout(baseline)
    mine_root = checkout(candidate) if candidate else procs.ROOT
    out: dict[str, Any] = {"events": events, "messages": total, "redelivered": REDELIVERED,
                           "fill_seconds": round(fill_s, 1), "baseline_ref": baseline,
                           "candidate_ref": candidate or "this tree"}
    with tempfile.TemporaryDirectory() as tmp:
        stores: dict[str, str | None] = {} if large_only else {"fresh": None}
        if large_store:
            with duckdb.connect(large_store, read_only=True) as con:
                (out["large_events"],) = con.execute(
                    "select count(*) from learning_events").fetchone() or (0,)
            stores["large"] = large_store
        elif large:
            path = Path(tmp) / "large.duckdb"
            out["large_build_seconds"] = round(build_large(base_root, large, path), 1)
            out["large_events"] = large
            stores["large"] = str(path)
        for name, store in stores.items():
            runs: dict[str, list[dict[str, Any]]] = {"bare": [], "floor": [], "baseline": [],
                                                      "consumer": []}
            for i in range(rounds):
                tag = f"-{name}-{i}"
                runs["bare"].append({"per_s": asyncio.run(
                    bare(broker.bootstrap, topic, total, tag))})
                runs["floor"].append(asyncio.run(
                    floor(broker.bootstrap, topic, total, store, tag)))
                runs["baseline"].append(asyncio.run(
                    ours(broker.bootstrap, topic, total, base_root, store, tag + "-b")))
                runs["consumer"].append(asyncio.run(
                    ours(broker.bootstrap, topic, total, mine_root, store, tag + "-c")))
            fig = {k: _median(v, "per_s") for k, v in runs.items()}
            # The headline: the consumers with every row they consumed folded (ours()).
            committed = {k: fig[k] for k in ("baseline", "consumer")}
            fig |= {k: _median(runs[k], "folded_per_s") for k in ("baseline", "consumer")}
            out[name] = {
                "per_s": fig, "committed_per_s": committed, "runs": runs,
                "peak_rss_mb": {k: _median(runs[k], "peak_rss_mb") for k in ("baseline",
                                                                             "consumer")},
                "cpu_us_per_msg": {k: _median(runs[k], "cpu_us_per_msg")
                                   for k in ("baseline", "consumer")},
                "consumer_to_baseline": round(fig["consumer"] / fig["baseline"], 2),
                "consumer_to_floor": round(fig["consumer"] / fig["floor"], 2),
                "consumer_to_bare": round(fig["consumer"] / fig["bare"], 3),
                "baseline_to_floor": round(fig["baseline"] / fig["floor"], 2)}
    if "large" in out and "fresh" in out:
        out["large_to_fresh"] = round(out["large"]["per_s"]["consumer"]
                                      / out["fresh"]["per_s"]["consumer"], 2)
    return out


def table(out: dict[str, Any]) -> list[tuple[str, ...]]:
    """Rows for run.py's table: (measure, ours, baseline, ratio, target)."""
    rows = []
    for name in ("fresh", "large"):
        if name not in out:
            continue
        f = out[name]["per_s"]
        size = "fresh store" if name == "fresh" else f"{out['large_events']:,} events stored"
        what = f"consumer msgs/s, every row folded, {out['messages']:,} msgs, {size}"
        rows += [(what, f["consumer"], f"code at {out['baseline_ref']} {f['baseline']}",
                  out[name]["consumer_to_baseline"],
                  ">= 2x" if name == "large" else ">= 1.5x"),
                 ("  the same to the commit only (rows left pending)",
                  out[name]["committed_per_s"]["consumer"],
                  out[name]["committed_per_s"]["baseline"],
                  round(out[name]["committed_per_s"]["consumer"]
                        / out[name]["committed_per_s"]["baseline"], 2), ""),
                 ("  to the raw-rows floor", f["consumer"], f"floor {f['floor']}",
                  out[name]["consumer_to_floor"], ">= 0.5"),
                 ("  to bare getmany", f["consumer"], f"bare {f['bare']}",
                  out[name]["consumer_to_bare"], ""),
                 ("  consumer CPU us/msg", out[name]["cpu_us_per_msg"]["consumer"],
                  out[name]["cpu_us_per_msg"]["baseline"],
                  round(out[name]["cpu_us_per_msg"]["baseline"]
                        / out[name]["cpu_us_per_msg"]["consumer"], 2), "lower"),
                 ("  peak RSS MB", out[name]["peak_rss_mb"]["consumer"],
                  out[name]["peak_rss_mb"]["baseline"], "", "flat")]
    if "large_to_fresh" in out:
        rows.append(("consumer large / fresh", out["large_to_fresh"], "", "", ">= 1/1.3"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=0, help="learning events pre-stored")
    parser.add_argument("--large-store", help="a store file to copy as the large store")
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the baseline")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--candidate", help="git ref of the candidate (default: this tree)")
    parser.add_argument("--large-only", action="store_true",
                        help="only the large store (with --large or --large-store)")
    args = parser.parse_args()
    broker = EmbeddedBroker().start()
    try:
        out = run(broker, args.events, args.large, args.baseline, args.rounds, args.candidate,
                  args.large_store, args.large_only)
    finally:
        broker.stop()
    for row in table(out):
        print(" | ".join(map(str, row)))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
