"""The dashboard's only way to DuckDB: one thread owns the read-only connection, every
panel is computed there once per snapshot and filter set, and the event loop only waits.

A snapshot is known by its file: device, inode, modification time and size. The consumer
replaces the file by rename, so a new snapshot is a new inode; a connection kept open would
keep reading the old one (and DuckDB shares one instance per path inside a process). So when
the identity changes the owner closes its connection and opens the new file; the cache is
keyed by identity, and entries of an older snapshot are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from consumer.readers.dashboard.filters import Filters
from consumer.readers.dashboard.panels import PANELS, Context, Json, Rows, context
from consumer.store import Error as StoreError
from consumer.store import ReadOnly, one_line

log = logging.getLogger(__name__)
CACHE_ENTRIES = 512  # panels x filter sets kept for the current snapshot
# Computed as soon as a snapshot appears (at start, and while someone looked in the last
# WARM_WHILE_VIEWED seconds), so the first viewer of a large snapshot waits for none of it.
OVERVIEW = ("header", "courses", "funnel_between", "ordered_funnel", "engagement",
            "stickiness", "retention")
WARM_WHILE_VIEWED = 900.0
WARM_VIEWS = ("engagement_daily",)
IDLE_CLOSE_SECONDS = 60.0  # an unused connection is closed: it holds the file and its memory


class Identity(NamedTuple):
    """Which file is at the snapshot path now."""

    device: int
    inode: int
    mtime_ns: int
    size: int

    @property
    def version(self) -> str:
        """A short opaque name for the page (it compares, never parses it)."""
        return f"{self.inode:x}-{self.mtime_ns:x}-{self.size:x}"


def identify(path: Path) -> Identity | None:
    """The identity of the file at `path` (one stat: cheap enough for every poll), or None."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return Identity(st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


class Missing(Exception):
    """No snapshot at the path; str() says how to make one."""


def missing_message(path: Path) -> str:
    return (f"No snapshot at {path} yet. The consumer publishes it while it runs: "
            f"learnstream up, or learnstream consume --data-dir {path.parent}; "
            "learnstream demo --serve makes one from simulated learners. Or start the "
            "dashboard with --snapshot PATH. This page reloads itself when one appears.")


class Source:
    """The panels' Query over one connection: named-parameter queries, and views copied
    once into temporary tables (they live with the connection, so with its snapshot)."""

    def __init__(self, db: ReadOnly) -> None:
        self._db = db
        self._copied: set[str] = set()
        self._calls: dict[tuple[Any, ...], str] = {}

    def __call__(self, sql: str, params: dict[str, Any], /) -> tuple[list[str], Rows]:
        return self._db.query(sql, params)

    def view(self, name: str) -> str:
        if not re.fullmatch(r"[a-z_]+", name):  # a view's name from panels.py, never input
            raise ValueError(f"not a view name: {name!r}")
        if name not in self._copied:
            self._db.query(f"create temp table _copy_{name} as select * from {name}")
            self._copied.add(name)
        return f"_copy_{name}"

    def call(self, macro: str, *args: Any) -> str:
        if not re.fullmatch(r"[a-z_]+", macro):
            raise ValueError(f"not a macro name: {macro!r}")
        key = (macro, *args)
        if key not in self._calls:
            name = f"_call_{len(self._calls)}"
            params = {f"a{i}": a for i, a in enumerate(args)}
            self._db.query(f"create temp table {name} as select * from "
                           f"{macro}({', '.join('$' + p for p in params)})", params)
            self._calls[key] = name
        return self._calls[key]


class Reader:
    """Panels of the snapshot at `path`, computed on one thread and cached per identity."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.queries = 0  # panels computed (not served from the cache): for tests, logs
        self.viewed = time.monotonic()  # the last request for panels (start counts as one)
        self._warmed: Identity | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="dashboard-duckdb")
        self._cache: OrderedDict[Hashable, Json] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[Json]] = {}
        self._idle: asyncio.TimerHandle | None = None
        # Touched only on the owner thread:
        self._db: ReadOnly | None = None
        self._source: Source | None = None
        self._db_identity: Identity | None = None
        self._context: Context | None = None
        self._used = time.monotonic()  # when the connection last finished a job

    def identity(self) -> Identity | None:
        return identify(self.path)

    async def watch(self, every: float) -> None:
        """Until cancelled: when a new snapshot appears and the page was viewed lately (or at
        start), compute the overview's default panels before anyone asks."""
        while True:
            ident = self.identity()
            if (ident is not None and ident != self._warmed
                    and time.monotonic() - self.viewed < WARM_WHILE_VIEWED):
                self._warmed = ident
                viewed = self.viewed
                try:
                    await self.panels(OVERVIEW, Filters())
                    # What a course click reads beyond its own rows: per-course engagement.
                    await asyncio.get_running_loop().run_in_executor(
                        self._executor, self._copy_views, ident, WARM_VIEWS)
                except Missing as exc:
                    log.info("not warmed: %s", exc)
                self.viewed = viewed  # warming is not viewing
            await asyncio.sleep(every)

    async def panels(self, names: Sequence[str], f: Filters) -> tuple[Identity, dict[str, Json]]:
        """Each named panel for the filters `f`, all of one snapshot (Missing if none). A
        panel computed for this call (not taken from the cache) says so (`computed`)."""
        self.viewed = time.monotonic()
        for _ in range(5):  # a new snapshot landing mid-request: start over on it
            ident = self.identity()
            if ident is None:
                raise Missing(missing_message(self.path))
            keys = {n: (ident, n, f.key(PANELS[n].uses)) for n in names}
            self._drop_older(ident)
            out: dict[str, Json] = {}
            waits: dict[str, asyncio.Future[Json]] = {}
            todo = []
            loop = asyncio.get_running_loop()
            for name, key in keys.items():
                if key in self._cache:
                    self._cache.move_to_end(key)
                    out[name] = self._cache[key]
                elif key in self._inflight:
                    waits[name] = self._inflight[key]
                else:
                    waits[name] = self._inflight[key] = loop.create_future()
                    todo.append(name)
            if todo:
                try:
                    got_ident, results = await loop.run_in_executor(
                        self._executor, self._compute, ident, todo, f)
                except BaseException as exc:
                    for name in todo:
                        fut = self._inflight.pop(keys[name])
                        if not fut.done():
                            fut.set_exception(exc)
                            fut.exception()  # retrieved: only the first waiter raises
                    raise
                for name in todo:
                    fut = self._inflight.pop(keys[name])
                    if got_ident == ident:
                        self._store(keys[name], results[name])
                    fut.set_result(results[name])
                    waits[name] = loop.create_future()  # this call's copy says it computed
                    waits[name].set_result({**results[name], "computed": True})
                self._schedule_idle_close()
                if got_ident != ident:
                    continue
            for name, fut in waits.items():
                out[name] = await fut
            if self.identity() == ident:
                return ident, out
        raise Missing(f"the snapshot at {self.path} keeps changing; try again")

    async def rows(self, sql: str, params: dict[str, Any], ident: Identity) -> Rows:
        """Rows of one query on the snapshot `ident` (not cached: the CSV download)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._rows, sql, params, ident)

    async def context(self) -> tuple[Identity, Context]:
        """The shared context of the current snapshot."""
        loop = asyncio.get_running_loop()
        ident = self.identity()
        if ident is None:
            raise Missing(missing_message(self.path))
        return await loop.run_in_executor(self._executor, self._context_of, ident)

    async def close(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        db = self._db
        if db is not None:  # a stop must not wait for a long query: cut it short
            db.interrupt()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown()

    # --- the event loop's bookkeeping ---

    def _store(self, key: Hashable, value: Json) -> None:
        self._cache[key] = value
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    def _drop_older(self, ident: Identity) -> None:
        for key in [k for k in self._cache if k[0] != ident]:  # type: ignore[index]
            del self._cache[key]

    def _schedule_idle_close(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(
            IDLE_CLOSE_SECONDS, lambda: loop.run_in_executor(self._executor, self._close_idle))

    # --- the owner thread ---

    def _open(self, ident: Identity) -> Identity:
        """A connection to the file now at the path; its identity (it may be newer than
        `ident`). Stat, connect, stat again: equal identities prove which file is open."""
        if self._db is not None and self._db_identity == ident:
            return ident
        self._close()
        for _ in range(5):
            before = identify(self.path)
            if before is None:
                raise Missing(missing_message(self.path))
            try:
                db = ReadOnly(self.path)
            except FileNotFoundError:
                raise Missing(missing_message(self.path)) from None
            except StoreError as exc:  # not a DuckDB file, or one of a newer DuckDB
                raise Missing(f"cannot open {self.path}: {one_line(exc)}") from None
            if identify(self.path) == before:
                self._db, self._db_identity, self._source = db, before, Source(db)
                log.info("opened snapshot %s (%s)", self.path, before.version)
                return before
            db.close()
        raise Missing(f"the snapshot at {self.path} keeps changing; try again")

    def _close_idle(self) -> None:
        # Queued behind any work in hand: close only if nothing ran for the whole while
        # (closing drops the copies, which a long computation just made).
        if time.monotonic() - self._used >= IDLE_CLOSE_SECONDS:
            self._close()

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db, self._db_identity, self._context = None, None, None
            self._source = None

    def _context_of(self, ident: Identity) -> tuple[Identity, Context]:
        opened = self._open(ident)
        if self._context is None:
            assert self._source is not None
            self._context = context(self._source)
        return opened, self._context

    def _compute(self, ident: Identity, names: Sequence[str], f: Filters
                 ) -> tuple[Identity, dict[str, Json]]:
        opened, ctx = self._context_of(ident)
        assert self._source is not None
        source = self._source
        out = {}
        for name in names:
            panel = PANELS[name]
            started = time.perf_counter()
            try:
                body = panel.build(source, f, ctx)
            except StoreError as exc:  # a file from other code (an old schema), a bad file
                log.error("panel %s failed on %s: %s", name, self.path, one_line(exc))
                body = {"error": f"cannot compute this panel: {one_line(exc)}"}
            self.queries += 1
            out[name] = {"title": panel.title, **body,
                         "seconds": round(time.perf_counter() - started, 3)}
        self._used = time.monotonic()
        return opened, out

    def _copy_views(self, ident: Identity, views: Sequence[str]) -> None:
        self._open(ident)
        assert self._source is not None
        for name in views:
            self._source.view(name)
        self._used = time.monotonic()

    def _rows(self, sql: str, params: dict[str, Any], ident: Identity) -> Rows:
        self._open(ident)
        assert self._db is not None
        rows = self._db.query(sql, params)[1]
        self._used = time.monotonic()
        return rows
