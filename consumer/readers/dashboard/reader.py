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
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from consumer.readers.dashboard.common import Context, Json, Rows
from consumer.readers.dashboard.filters import Filters
from consumer.readers.dashboard.owner import IDLE_CLOSE_SECONDS, Owner
from consumer.readers.dashboard.panels import PANELS
from consumer.readers.dashboard.source import Identity, Missing, identify, missing_message

log = logging.getLogger(__name__)
CACHE_ENTRIES = 512  # panels x filter sets kept for the current snapshot
# Computed as soon as a snapshot appears (at start, and while someone looked in the last
# WARM_WHILE_VIEWED seconds), so the first viewer of a large snapshot waits for none of it.
OVERVIEW = ("header", "courses", "funnel_between", "ordered_funnel", "engagement",
            "stickiness", "retention")
WARM_WHILE_VIEWED = 900.0


class Reader:
    """Panels of the snapshot at `path`, computed on one thread and cached per identity."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.viewed = time.monotonic()  # the last request for panels (start counts as one)
        self._warmed: Identity | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="dashboard-duckdb")
        self._cache: OrderedDict[Hashable, Json] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[Json]] = {}
        self._idle: asyncio.TimerHandle | None = None
        # Touched only on the owner thread:
        self._owner = Owner(path)  # touched only on the executor's thread

    @property
    def queries(self) -> int:
        """Panels computed (not served from the cache): for tests and logs."""
        return self._owner.queries

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
            out, waits, todo = self._claim(keys)
            if todo and not await self._compute(ident, f, todo, keys, waits):
                continue
            for name, fut in waits.items():
                out[name] = await fut
            if self.identity() == ident:
                return ident, out
        raise Missing(f"the snapshot at {self.path} keeps changing; try again")

    def _claim(self, keys: Mapping[str, Hashable]) -> tuple[
            dict[str, Json], dict[str, asyncio.Future[Json]], list[str]]:
        """(panels cached, futures of panels being computed, panels this call computes): a
        panel asked for twice at once is computed once."""
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
        return out, waits, todo

    async def _compute(self, ident: Identity, f: Filters, todo: list[str],
                       keys: Mapping[str, Hashable],
                       waits: dict[str, asyncio.Future[Json]]) -> bool:
        """Compute `todo` on the owner thread, one panel per job, settling each panel's
        future as soon as it is done: a page that asks for its panels one by one draws each
        as it comes instead of waiting for the slowest (at 10M events the overview's
        panels take 0.2-4 s each). False if the snapshot changed under the computation
        (the results are handed out, not cached)."""
        loop = asyncio.get_running_loop()
        same = True
        for done, name in enumerate(todo):
            try:
                got_ident, results = await loop.run_in_executor(
                    self._executor, self._owner.compute, ident, [name], f)
            except BaseException as exc:
                self._fail([keys[n] for n in todo[done:]], exc)
                raise
            fut = self._inflight.pop(keys[name])
            if got_ident == ident:
                self._store(keys[name], results[name])
            same = same and got_ident == ident
            fut.set_result(results[name])
            waits[name] = loop.create_future()  # this call's copy says it computed
            waits[name].set_result({**results[name], "computed": True})
        self._schedule_idle_close()
        return same

    def _fail(self, keys: Sequence[Hashable], exc: BaseException) -> None:
        for key in keys:
            fut = self._inflight.pop(key)
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()  # retrieved: only the first waiter raises

    async def rows(self, sql: str, params: dict[str, Any], ident: Identity) -> Rows:
        """Rows of one query on the snapshot `ident` (not cached: the CSV download)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._owner.rows, sql, params, ident)

    async def context(self) -> tuple[Identity, Context]:
        """The shared context of the current snapshot."""
        loop = asyncio.get_running_loop()
        ident = self.identity()
        if ident is None:
            raise Missing(missing_message(self.path))
        return await loop.run_in_executor(self._executor, self._owner.context_of, ident)

    async def close(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        db = self._owner.db
        if db is not None:  # a stop must not wait for a long query: cut it short
            db.interrupt()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._owner.close)
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
        owner = self._owner
        self._idle = loop.call_later(
            IDLE_CLOSE_SECONDS, lambda: loop.run_in_executor(self._executor, owner.close_idle))
