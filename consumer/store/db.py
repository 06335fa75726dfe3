"""The writing side of the store: one connection, one transaction per batch, and the fold
of the current state in a transaction beside them (Store.fold)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
from msgspec import Struct
from msgspec.structs import astuple

from consumer.rows import Batch, Written
from consumer.sources.personal import Suppression
from consumer.store.connection import Connection, Rowtuple
from consumer.store.dedupe import duplicate_events, kept, redelivered_letters, stored_bodies
from consumer.store.deliveries import deliveries
from consumer.store.offsets import forget_offsets, save_offsets, stored_positions
from consumer.store.schema import APPENDED, appenders
from consumer.store.seen import Seen
from consumer.store.state import FOLD_AT, SINCE, cluster, fill_new, fold, positions, refold

__all__ = ["Rowtuple", "Store"]

# Tables whose batch goes in as one insert from columns of Python objects (DuckDB's scan of
# a dict of numpy object arrays) instead of through the appender, which converts value by
# value, row by row. CPU a row, appender / scan, the commit the same (README "Performance",
# issue 16's sixth part): learning rows (24 columns) 5.8-6.4 / 3.4-3.8 us, raw rows
# 4.2-4.7 / 2.8-3.2 us. Commerce rows (lists of Decimals) gained nothing (8.2-8.6 against
# 8.4-10.9 us); the other tables have a handful of rows per batch.
COLUMNAR = frozenset({"raw_events", "learning_events"})
# Below this many rows the appender is the cheaper one: the insert's register and statement
# cost about 1 ms whatever the rows (a live stream's polls hold tens of messages; with
# 10-message batches the whole write took 1,010-1,069 us CPU a message by columns, 829-889
# by the appender; about even at 300, README "Performance").
COLUMNS_FROM = 500
BATCH_VIEW = "_batch_rows"  # the registered columns, for the one insert


class Store(Connection):
    """The consumer's tables: batches appended, offsets kept, state folded. Its methods may
    be called from any thread, one at a time."""

    def __init__(self, path: str | Path, memory_limit: str | None = None,
                 fold_at: int = FOLD_AT) -> None:
        self.fold_at = fold_at
        self.suppression: Suppression | None = None  # erased people (store/suppression.py)
        super().__init__(path, memory_limit)

    def _opened(self) -> None:
        self._appenders = appenders(self._con)
        self._columns = {table: [*row.__struct_fields__,
                                 *(["stored_seq"] if table in SINCE else [])]
                         for table, row in APPENDED}
        # Which event_uids may be stored (store/seen.py): read when first needed, so the
        # commands that open the store without writing events (forget, products, check)
        # do not pay its load (0.7 s and 80 MB at 10M events).
        self._seen_now: Seen | None = None
        (cores,) = self._con.execute("select current_setting('threads')").fetchone() or (1,)
        self._cores = self._now = int(cores)  # DuckDB's threads, as configured; as now
        # A state table this version added is empty in an older store: filled before use;
        # the rows of an older store's folded tables of learners are grouped by learner,
        # once.
        self._con.begin()
        fill_new(self._con)
        cluster(self._con)
        self._con.commit()
        # The next stored_seq to give a learning or commerce row; those rows not folded yet.
        self._seq, self._pending = positions(self._con)

    def _rolled_back(self) -> None:
        for appender in self._appenders.values():
            appender.clear()
        self._seq, self._pending = positions(self._con)
        # Whatever failed, the retry must not trust a prefilter that missed a stored
        # event_uid (a row put in by other means than this Store): read it again.
        if self._seen_now is not None:
            self._seen_now.load(self._con)

    @property
    def _seen(self) -> Seen:
        # Made before this Store appends its first raw row (write and append both ask
        # first), so its load never misses a row of ours an appender still holds.
        if self._seen_now is None:
            self._seen_now = Seen(self._con)
        return self._seen_now

    def append(self, table: str, rows: Sequence[Struct]) -> int:
        """Append rows of `table`'s row Struct with its appender; how many. Learning and
        commerce rows get the next stored_seq numbers: pending until the next fold of the
        current state. Raw rows' event_uids are added to the dedupe's prefilter first
        (store/seen.py): the caller has checked they are new."""
        if table == "raw_events" and rows:
            self._seen.add(self._seen.hashes(
                self._con, [r.event_uid for r in rows]))  # type: ignore[attr-defined]
        return self._append(table, rows)

    def _append(self, table: str, rows: Sequence[Struct]) -> int:
        if rows:
            if table in SINCE:
                tuples = [(*astuple(r), self._seq + i) for i, r in enumerate(rows)]
                self._seq, self._pending = self._seq + len(rows), self._pending + len(rows)
            else:
                tuples = [astuple(r) for r in rows]
            if table in COLUMNAR and len(tuples) >= COLUMNS_FROM:
                self._insert_columns(table, tuples)
            else:
                self._appenders[table].append_rows(tuples)
                self._appenders[table].flush()
        return len(rows)

    def _insert_columns(self, table: str, tuples: list[tuple[object, ...]]) -> None:
        """`tuples` (of `table`'s appended columns) in one insert, column by column. Each
        column an object array as built (fromiter: a list value stays one element), so
        DuckDB converts the Python values as the appender would, into the column's type."""
        names = self._columns[table]
        data = {name: np.fromiter(column, dtype=object, count=len(tuples))
                for name, column in zip(names, zip(*tuples, strict=True), strict=True)}
        # Not unregistered when the insert fails: the transaction is aborted then (a key
        # refused), so the unregister would fail too and hide the cause; the rollback
        # drops the registration, and the next batch's replaces any left.
        self._con.register(BATCH_VIEW, data)
        self._con.execute(f"insert into {table} ({', '.join(names)}) "
                          f"select {', '.join(names)} from {BATCH_VIEW}")
        self._con.unregister(BATCH_VIEW)

    def stored(self, uids: Sequence[str]) -> set[str]:
        """Those of `uids` raw_events holds (looked up in its primary key's index)."""
        return set(self._on(stored_bodies, uids))

    def fold(self, minimum: int = 1, beside: bool = False) -> None:
        """Fold the pending learning and commerce rows into the current-state tables, in a
        transaction, if there are at least `minimum` of them: holding the lock (the writer
        waits), or with `beside` in a transaction beside the writer's (Connection.beside).

        Beside it, the batches written meanwhile are not waited for: the fold reads the rows
        committed before it began (its snapshot) and moves fold_mark past the last of them
        alone, so the rows committed since stay pending, for the next fold. It writes only
        the folded tables and fold_mark, which the batches do not touch. Worth it only when
        batches are waiting (a backlog: at 10M events the fold takes 4 s, which the writer
        spent stopped); with the consumer caught up nothing waits for the writer, and the
        two at once only take the cores from the receiver sharing them (end to end at half
        rate, p99 36-43 ms beside against 24-26 held: README "Performance")."""
        if not beside:
            with self._lock:
                if self._pending >= max(1, minimum):
                    with self.transaction():
                        fold(self._con)
                    self._pending = 0
            return
        try:
            with self.beside() as cursor:
                if self._pending < max(1, minimum):
                    return
                # The writer is one Python thread: left a core of its own while batches
                # wait, it kept committing at its own rate beside the fold (at 10M events,
                # README "Performance"); once they no longer wait, the fold's end is what
                # readers wait for, and it takes every core again (caught_up).
                self._threads(max(1, self._cores - 1))
                fold(cursor)
        finally:
            self._threads(self._cores)
        # Those written since it began are pending now (and a failed batch may have
        # recounted meanwhile): counted again, a few ms at 10M, under the lock, between
        # batches (a batch in hand numbers its rows from _seq).
        with self._lock:
            self._seq, self._pending = self._on(positions)

    @property
    def sharing(self) -> bool:
        """A fold beside the batches leaves them a core (Store.fold)."""
        return self._now < self._cores

    def caught_up(self) -> None:
        """The batches no longer wait: a fold beside them takes every core again."""
        self._threads(self._cores)

    def _threads(self, threads: int) -> None:
        # DuckDB's thread count is the database's, every connection's and cursor's.
        with self._lock, suppress(duckdb.Error):  # one made invalid is reopened with all
            if threads != self._now:
                self._con.execute(f"set threads = {threads}")
                self._now = threads

    def refold(self) -> None:
        """Recompute the current-state tables from all of learning_events and
        commerce_events; call it inside `transaction()`."""
        with self._lock:
            refold(self._con)
            self._pending = 0

    @property
    def pending(self) -> int:
        """Learning and commerce rows stored and not folded yet."""
        return self._pending

    def write(self, batch: Batch, topic: str, fold_at: int | None = None) -> Written:
        """Store a batch, its offsets and its per-source delivery counts in one transaction;
        redelivered event_uids and messages naming an erased person are skipped. On any
        error nothing of the batch is stored and the error propagates. Once `fold_at`
        (default `self.fold_at`) rows are pending, they are folded in the same transaction:
        a caller under a backlog passes more and folds beside the batches instead
        (Snapshots.maybe)."""
        # Beside a fold (Store.fold): the batch changes none of its rows.
        with self.transaction(beside=True):
            now = datetime.now(UTC)
            suppressed = self.suppression.positions(batch) if self.suppression else set()
            redelivered = redelivered_letters(self._con, batch) - suppressed
            duplicates, conflicts = duplicate_events(
                self._con, kept(batch.raw, redelivered | suppressed), self._seen)
            dropped = redelivered | duplicates | suppressed
            letters = kept(batch.dead, dropped)
            n = {table: self._append(table, rows) for table, rows in (
                ("raw_events", kept(batch.raw, dropped)),
                ("learning_events", kept(batch.learning, dropped)),
                ("commerce_events", kept(batch.commerce, dropped)),
                ("dead_letters", letters), ("conflicting_deliveries", conflicts))}
            self._append("deliveries", deliveries(batch, dropped, conflicts, now, suppressed))
            save_offsets(self._con, topic, batch.next_offsets, batch.last_fingerprints, now)
            # Not while a fold runs beside: the folded tables are its to write until it ends.
            if folding := (self._pending >= (fold_at or self.fold_at)
                           and not self._besides):
                fold(self._con)
        self._pending = 0 if folding else self._pending
        return Written(n["raw_events"], len(dropped - suppressed), n["conflicting_deliveries"],
                       n["learning_events"], n["commerce_events"],
                       tuple((d.source, d.error_kind) for d in letters), len(suppressed))

    def forget_offsets(self, topic: str, partitions: Sequence[int]) -> None:
        """Drop the stored offsets of `partitions`: their log was recreated from scratch."""
        self._on(forget_offsets, topic, partitions)

    def positions(self, topic: str) -> dict[int, tuple[int, str | None]]:
        """Per partition: (next offset, fingerprint of the record before it)."""
        return self._on(stored_positions, topic)

    def offsets(self, topic: str) -> dict[int, int]:
        """The next offset to read per partition of `topic`, as stored with the rows."""
        return {p: offset for p, (offset, _) in self.positions(topic).items()}

    def _closing(self) -> None:
        self.fold()
        self._appenders.clear()
