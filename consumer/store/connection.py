"""The one writing DuckDB connection: opened, reopened after a fatal error, used by one
thread at a time, checkpointed and closed; and a second cursor of it for work that runs
beside the writer's transactions (`beside`: the fold of the current state).

A fatal DuckDB error (a checkpoint on a full disk) invalidates the database: every later
statement on that connection fails, so retrying a batch on it can never succeed. The
connection is therefore closed and opened again before the next use, which replays the WAL
(nothing committed is lost); while the disk stays full that fails again, with the cause.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from consumer.store.errors import is_fatal
from consumer.store.owner import closed, take
from consumer.store.rewrite import copy_clean
from consumer.store.schema import apply_schema

Rowtuple = tuple[Any, ...]
T = TypeVar("T")
log = logging.getLogger(__name__)

# The storage format of a new store, and so of its snapshot (a copy of the file): what
# DuckDB 1.0 and later read, since analysts' CLIs and BI drivers still ship 1.x. Measured
# against DuckDB 2.0's own format: 6-13% larger, 0.04-0.09 s more per snapshot at 200k-500k
# events (README "Snapshot").
STORAGE_VERSION = "v1.0.0"
# DuckDB checkpoints when the WAL reaches this size (default 16 MB), and every automatic
# checkpoint rewrites the changed row groups and the event_uid index, a cost that grows with
# the store. At 256 MB the WAL is folded in by the snapshot's CHECKPOINT (and on close)
# instead (README "Performance": both measured); at 1 GB also at 10M events, where
# snapshots are spaced by their copy's cost and a fold's writes alone took the WAL past
# 256 MB, so the writer's next commit checkpointed for 3-4 s (1.06-1.16 at 10M, 1.03
# fresh). A crash leaves at most this much WAL to replay at the next open (434 MB in 1.9 s).
CHECKPOINT_THRESHOLD = "1GB"
# While a snapshot copies the checkpointed file: no automatic checkpoint (the WAL grows by
# what the writer commits during the copy, seconds of it).
NO_CHECKPOINT = "1000000GB"


class Connection:
    """Owns the DuckDB connection; subclasses set up what hangs off it in `_opened`."""

    def __init__(self, path: str | Path, memory_limit: str | None = None) -> None:
        self.path = str(path)
        self._config: dict[str, str | bool | int | float | list[str]] = {
            "storage_compatibility_version": STORAGE_VERSION,
            "checkpoint_threshold": CHECKPOINT_THRESHOLD}
        if memory_limit:
            self._config["memory_limit"] = memory_limit
        self._owner = self._fd = -1
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._owner = take(self.path, wait=0.5)  # InUse: another process has it
        # A DuckDB connection is not safe for concurrent use, and the rebalance listener
        # reads offsets from the coordinator's task while a batch may be writing.
        self._lock = threading.RLock()
        # A snapshot's copy of the checkpointed file runs without the lock (Connection.frozen):
        # while it does, nothing may checkpoint, reopen or replace the file.
        self._copying = False
        # A transaction on a second cursor (Connection.beside) runs without the lock too:
        # while it does, nothing else may checkpoint (a snapshot's or close's checkpoint must
        # hold what it commits: DuckDB 2.0.1 does checkpoint with another transaction open,
        # measured, though its docs say CHECKPOINT fails then), reopen (the cursor hangs off
        # the connection) or replace the file, nor open a transaction but the writer's batches.
        self._besides = False
        self._idle = threading.Condition(self._lock)  # told when a copy or a beside ends
        self.publishing = threading.Lock()  # one snapshot at a time (consumer/snapshot.py)
        try:
            self._open()
        except BaseException:
            self._owner = closed(self._owner)
            raise
        self._hold_file()

    def _hold_file(self) -> None:
        # DuckDB's lock on the file is a POSIX record lock, which a process loses when it closes
        # *any* descriptor of the file. Snapshots copy through this one, open for the Store's
        # whole life and closed after the connection, so no copy ever unlocks the file.
        self._fd = os.open(self.path, os.O_RDONLY) if self.path != ":memory:" else -1

    def _open(self, reopen: bool = False) -> None:
        # Invalid until fully open: a reopen that fails (disk still full) is tried again.
        self._invalid = True
        self._con = duckdb.connect(self.path, config=self._config)
        if not reopen:  # applied already: a reopen writes nothing before the retried batch
            apply_schema(self._con)
            _say_if_2x_only(self._con, self.path)
        self._opened()
        self._invalid = False  # set again by a fatal error: DuckDB then refuses everything

    def _opened(self) -> None:
        """Called on every (re)open, with the schema applied."""

    def _rolled_back(self) -> None:
        """Called after a failed transaction (the connection may be invalid: errors are
        ignored, and a reopen calls `_opened` again)."""

    def _reopen_if_invalid(self) -> None:
        if self._invalid:
            # Opening replays the WAL into the file (a checkpoint), and closing ends the
            # cursor of a transaction beside the writer.
            self._wait_for_idle()
            with suppress(duckdb.Error):
                self._con.close()
            self._open(reopen=True)

    def _watch(self, exc: BaseException) -> None:
        self._invalid = self._invalid or is_fatal(exc)

    @contextmanager
    def transaction(self, beside: bool = False) -> Iterator[None]:
        """Commit on exit, roll back on error; holds the lock throughout. Waits for the
        transaction running `beside()`, if any, to end, unless `beside`: the writer's batches,
        which change no row that one changes."""
        with self._lock:
            if not beside:
                self._wait_for_idle(copy=False)
            self._reopen_if_invalid()
            self._con.begin()
            try:
                yield
                self._con.commit()
            except BaseException as exc:
                self._watch(exc)
                # A failed commit (the WAL could not be written) has already ended the
                # transaction, and an invalidated one refuses everything: an error from the
                # clean-up must not hide the cause.
                with suppress(duckdb.Error):
                    self._con.rollback()
                with suppress(duckdb.Error):
                    self._rolled_back()
                raise

    @contextmanager
    def beside(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction on a cursor of its own (DuckDB: its own snapshot of the committed
        rows, its own temp catalog), without the lock: the writer's transactions go on while
        it runs, as DuckDB runs transactions side by side, and conflict only where both change
        the same rows. So only for work that changes no row the writer changes (the fold:
        the folded tables and fold_mark). Yields the cursor in its transaction; commits on
        exit, rolls back on error. One at a time; until it ends every other transaction, and
        anything that checkpoints, reopens or replaces the file, waits."""
        with self._lock:
            self._wait_for_idle()  # and for another beside
            self._reopen_if_invalid()
            cursor = self._con.cursor()
            self._besides = True
        try:
            cursor.begin()
            try:
                yield cursor
                cursor.commit()
            except BaseException as exc:
                with self._lock:
                    self._watch(exc)  # a fatal one: the writer's next use reopens
                with suppress(duckdb.Error):
                    cursor.rollback()
                raise
        finally:
            with suppress(duckdb.Error):
                cursor.close()
            with self._lock:
                self._besides = False
                self._idle.notify_all()

    def _on(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` under the lock, on a working connection."""
        with self._lock:
            self._reopen_if_invalid()
            try:
                return fn(self._con, *args)
            except duckdb.Error as exc:
                self._watch(exc)
                raise

    def run(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`work(connection)` under the lock (store modules; in `transaction()` to write)."""
        return self._on(work)

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Rowtuple]]:
        """Run one statement; (column names, rows). Insert, update, delete give their count."""
        return self._on(_statement, sql, list(params))

    def rewrite(self) -> float:
        """Replace the file by a clean copy (no deleted value survives in its bytes); seconds
        taken. Between transactions; the owner lock keeps the file ours while it reopens."""
        with self._lock:
            self._wait_for_idle()
            started = time.perf_counter()
            fresh = self._on(copy_clean, self.path, STORAGE_VERSION)
            self._con.close()
            self._fd = closed(self._fd)
            os.replace(fresh, self.path)
            Path(self.path + ".wal").unlink(missing_ok=True)
            self._open(reopen=True)  # the copy has the schema
            self._hold_file()
            return time.perf_counter() - started

    @contextmanager
    def frozen(self, as_of: datetime) -> Iterator[tuple[int, int, float]]:
        """Record `as_of` in `snapshots` and fold the WAL into the file, under the lock; then,
        until exit, hold off every checkpoint (DuckDB's automatic one included) but let the
        writer go on committing: the file's first `size` bytes are then the whole store as of
        the checkpoint. Yields (a read-only descriptor of the file, `size`, the seconds the
        lock was held for the checkpoint, without waiting for it): copy through the
        descriptor (with explicit offsets) and never open the file again, which would unlock
        it when closed.

        Between two checkpoints DuckDB writes only blocks the last checkpoint's header does
        not reference: committed rows go to the WAL, large appends optimistically to blocks
        of its free list or past the end of the file, and a block the checkpoint replaced is
        free only once the next header is written (DuckDB's SingleFileBlockManager:
        `GetFreeBlockId`, `MarkBlockAsModified`, `WriteHeader`). `test_snapshot.py` holds it
        to that: free blocks inside the first `size` bytes rewritten after the checkpoint, a
        copy made then reads exactly the checkpoint's rows."""
        with self._lock:
            self._wait_for_idle()
            locked = time.perf_counter()
            self._on(_statement, "insert or replace into snapshots (as_of) values ($1)",
                     [as_of])
            self._on(_statement, f"set checkpoint_threshold = '{NO_CHECKPOINT}'", [])
            try:
                self._on(_statement, "checkpoint", [])
                size = os.fstat(self._fd).st_size
            except BaseException:
                self._checkpoint_again()
                raise
            self._copying = True
            held = time.perf_counter() - locked
        try:
            yield self._fd, size, held
        finally:
            with self._lock:
                self._checkpoint_again()

    def _checkpoint_again(self) -> None:
        """The copy is done (or never began): DuckDB may checkpoint again."""
        self._copying = False
        self._idle.notify_all()
        with suppress(duckdb.Error):  # an invalidated connection is reopened with it
            self._con.execute(f"set checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")

    def _wait_for_idle(self, copy: bool = True) -> None:
        """Until no transaction runs beside the writer's and, with `copy`, no snapshot is
        being copied (the lock is let go meanwhile). Under the lock, before anything that
        checkpoints, reopens or replaces the file (with `copy`), or opens a transaction."""
        with self._lock:
            while self._besides or (copy and self._copying):
                self._idle.wait()

    def _closing(self) -> None:
        """Called before the final checkpoint."""

    def close(self) -> None:
        """Checkpoint and close, whatever fails on the way (the WAL keeps what the file
        lacks); the file can then be opened by readers. Raises the first error."""
        with self._lock:
            self._wait_for_idle()
            try:
                self._reopen_if_invalid()
                self._closing()
                if self.path != ":memory:":  # fold the WAL in: the file alone is then complete
                    self._con.execute("checkpoint")
            finally:
                with suppress(duckdb.Error):
                    self._con.close()
                self._fd = closed(self._fd)
                self._owner = closed(self._owner)  # readers and commands may open it now


def _say_if_2x_only(con: duckdb.DuckDBPyConnection, path: str) -> None:
    """A store created before STORAGE_VERSION was set keeps DuckDB 2's format (a file's format
    is fixed when it is created): say once how to make its snapshots readable by 1.x."""
    tags = con.execute("select tags from duckdb_databases() "
                       "where database_name = current_database()").fetchone()
    version = str((tags[0] if tags else {}).get("storage_version", ""))
    if version.startswith("v2"):
        log.warning("%s is in DuckDB %s storage: its snapshots open in DuckDB 2 only. To serve "
                    "1.x readers, with the consumer stopped: duckdb -c \"ATTACH '%s' AS old "
                    "(READ_ONLY); ATTACH 'new.duckdb' AS new (STORAGE_VERSION '%s'); COPY FROM "
                    "DATABASE old TO new\", then move new.duckdb over it", path, version, path,
                    STORAGE_VERSION)


def _statement(con: duckdb.DuckDBPyConnection, sql: str,
               params: list[Any]) -> tuple[list[str], list[Rowtuple]]:
    cur = con.execute(sql, params)
    return [d[0] for d in cur.description], cur.fetchall()
