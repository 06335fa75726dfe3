"""The writing side of the store: one connection, one transaction per batch."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from msgspec import Struct
from msgspec.structs import astuple

from consumer.rows import Batch, CommerceRow, DeadLetter, Delivery, LearningRow, RawRow, Written
from consumer.store import owner
from consumer.store.dedupe import duplicate_events, kept, redelivered_letters, stored_bodies
from consumer.store.deliveries import deliveries, save_offsets
from consumer.store.rewrite import copy_clean
from consumer.store.schema import apply_schema
from consumer.store.state import FOLD_AT, fold, positions, refold

Rowtuple = tuple[Any, ...]
Error = duckdb.Error  # what a failed write raises, for callers that must not import duckdb


class Store:
    """Owns the DuckDB connection; its methods may be called from any thread, one at a time."""

    def __init__(self, path: str | Path, memory_limit: str | None = None,
                 fold_at: int = FOLD_AT) -> None:
        self.path, self.fold_at = str(path), fold_at
        self._config: dict[str, Any] = {"memory_limit": memory_limit} if memory_limit else {}
        self._owner = -1
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._owner = owner.take(self.path, wait=0.5)  # InUse: another process has it
        # A DuckDB connection is not safe for concurrent use, and the rebalance listener
        # reads offsets from the coordinator's task while a batch may be writing.
        self._lock = threading.RLock()
        try:
            self._open()
        except BaseException:
            self._release_owner()
            raise

    def _open(self) -> None:
        self._con = duckdb.connect(self.path, config=self._config)
        # DuckDB's lock on the file is a POSIX record lock, which a process loses when it closes
        # *any* descriptor of the file. Snapshots copy through this one, open for the
        # connection's whole life and closed after it, so no copy ever unlocks the file.
        self._fd = os.open(self.path, os.O_RDONLY) if self.path != ":memory:" else -1
        apply_schema(self._con)
        self._appenders = {
            table: self._con.appender(table, columns=[
                *row.__struct_fields__, *(["stored_seq"] if row is LearningRow else [])])
            for table, row in (("raw_events", RawRow), ("learning_events", LearningRow),
                               ("commerce_events", CommerceRow), ("dead_letters", DeadLetter),
                               ("conflicting_deliveries", RawRow), ("deliveries", Delivery))
        }
        # The next stored_seq to give a learning row; learning rows not folded yet.
        self._seq, self._pending = positions(self._con)

    def _shut(self) -> None:
        self._appenders.clear()
        if self.path != ":memory:":  # fold the WAL in: the file alone is then complete
            self._con.execute("checkpoint")
        self._con.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _release_owner(self) -> None:
        self._owner = owner.release(self._owner) if self._owner >= 0 else -1

    def rewrite(self) -> float:
        """Replace the file by a clean copy (no deleted value survives in its bytes); seconds
        taken. Between transactions; the owner lock keeps the file ours while it reopens."""
        with self._lock:
            started = time.perf_counter()
            fresh = copy_clean(self._con, self.path)
            self._shut()
            os.replace(fresh, self.path)
            Path(self.path + ".wal").unlink(missing_ok=True)
            self._open()
            return time.perf_counter() - started

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit on exit, roll back (appenders too) on error; holds the lock throughout."""
        with self._lock:
            self._con.begin()
            try:
                yield
                self._con.commit()
            except BaseException:
                for appender in self._appenders.values():
                    appender.clear()
                self._con.rollback()
                self._seq, self._pending = positions(self._con)
                raise

    def append(self, table: str, rows: Sequence[Struct]) -> int:
        """Append rows of `table`'s row Struct with its appender; how many. Learning rows
        get the next stored_seq numbers: pending until the next fold of the current state."""
        if rows:
            if table == "learning_events":
                tuples = [(*astuple(r), self._seq + i) for i, r in enumerate(rows)]
                self._seq, self._pending = self._seq + len(rows), self._pending + len(rows)
            else:
                tuples = [astuple(r) for r in rows]
            self._appenders[table].append_rows(tuples)
            self._appenders[table].flush()
        return len(rows)

    def stored(self, uids: Sequence[str]) -> set[str]:
        """Those of `uids` raw_events holds (looked up in its primary key's index)."""
        with self._lock:
            return set(stored_bodies(self._con, uids))

    def fold(self) -> None:
        """Fold the pending learning rows into the current-state tables, in a transaction."""
        with self._lock:
            if self._pending:
                with self.transaction():
                    fold(self._con)
                self._pending = 0

    def refold(self) -> None:
        """Recompute the current-state tables from all of learning_events; call it inside
        `transaction()`."""
        with self._lock:
            refold(self._con)
            self._pending = 0

    def write(self, batch: Batch, topic: str) -> Written:
        """Store a batch, its offsets and its per-source delivery counts in one transaction;
        redelivered event_uids are skipped. On any error nothing of the batch is stored and
        the error propagates."""
        with self.transaction():
            now = datetime.now(UTC)
            redelivered = redelivered_letters(self._con, batch)
            duplicates, conflicts = duplicate_events(self._con, kept(batch.raw, redelivered))
            dropped = redelivered | duplicates
            letters = kept(batch.dead, dropped)
            n = {table: self.append(table, rows) for table, rows in (
                ("raw_events", kept(batch.raw, dropped)),
                ("learning_events", kept(batch.learning, dropped)),
                ("commerce_events", kept(batch.commerce, dropped)),
                ("dead_letters", letters), ("conflicting_deliveries", conflicts))}
            self.append("deliveries", deliveries(batch, dropped, conflicts, now))
            save_offsets(self._con, topic, batch.next_offsets, batch.last_fingerprints, now)
            if folding := self._pending >= self.fold_at:
                fold(self._con)
        self._pending = 0 if folding else self._pending
        return Written(n["raw_events"], len(dropped), n["conflicting_deliveries"],
                       n["learning_events"], n["commerce_events"],
                       tuple((d.source, d.error_kind) for d in letters))

    def forget_offsets(self, topic: str, partitions: Sequence[int]) -> None:
        """Drop the stored offsets of `partitions`: their log was recreated from scratch."""
        self.query("delete from consumer_offsets where topic = $1 and kafka_partition in "
                   "(select unnest($2::integer[]))", [topic, list(partitions)])

    def positions(self, topic: str) -> dict[int, tuple[int, str | None]]:
        """Per partition: (next offset, fingerprint of the record before it)."""
        rows = self.query("select kafka_partition, next_offset, last_fingerprint "
                          "from consumer_offsets where topic = $1", [topic])[1]
        return {p: (o, f) for p, o, f in rows}

    def offsets(self, topic: str) -> dict[int, int]:
        """The next offset to read per partition of `topic`, as stored with the rows."""
        return {p: offset for p, (offset, _) in self.positions(topic).items()}

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Rowtuple]]:
        """Run one statement; (column names, rows). Insert, update, delete give their count."""
        with self._lock:
            cur = self._con.execute(sql, list(params))
            return [d[0] for d in cur.description], cur.fetchall()

    @contextmanager
    def frozen(self, as_of: datetime) -> Iterator[int]:
        """Record `as_of` in `snapshots`, fold the WAL into the file and hold the lock: until
        exit the file alone is the whole store and nothing writes to it, so a copy is complete.
        Yields a read-only descriptor of the file: copy through it (with explicit offsets) and
        never open the file again, which would unlock it when closed."""
        with self._lock:
            self._con.execute("insert or replace into snapshots (as_of) values ($1)", [as_of])
            self._con.execute("checkpoint")
            yield self._fd

    def close(self) -> None:
        """Checkpoint, close and release the file: it can then be opened by readers."""
        with self._lock:
            self.fold()
            self._shut()
            self._release_owner()
