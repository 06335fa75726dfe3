"""The thread that owns the dashboard's DuckDB connection: it opens the snapshot now at the
path (closing the previous one), computes panels and copies, and closes when idle. Only the
Reader's single-thread executor calls it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consumer.readers.dashboard.common import Context, Json, Rows, context
from consumer.readers.dashboard.filters import Filters
from consumer.readers.dashboard.panels import PANELS
from consumer.readers.dashboard.source import Identity, Missing, Source, identify, missing_message
from consumer.store import Error as StoreError
from consumer.store import ReadOnly, one_line

log = logging.getLogger(__name__)
IDLE_CLOSE_SECONDS = 60.0  # an unused connection is closed: it holds the file and its memory


class Owner:
    """The connection to one snapshot and what was computed on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.queries = 0  # panels computed: for tests and logs
        self.db: ReadOnly | None = None
        self._source: Source | None = None
        self._db_identity: Identity | None = None
        self._context: Context | None = None
        self._used = time.monotonic()  # when the connection last finished a job

    def open(self, ident: Identity) -> Identity:
        """A connection to the file now at the path; its identity (it may be newer than
        `ident`). Stat, connect, stat again: equal identities prove which file is open."""
        if self.db is not None and self._db_identity == ident:
            return ident
        self.close()
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
                self.db, self._db_identity, self._source = db, before, Source(db)
                log.info("opened snapshot %s (%s)", self.path, before.version)
                return before
            db.close()
        raise Missing(f"the snapshot at {self.path} keeps changing; try again")

    def close_idle(self) -> None:
        # Queued behind any work in hand: close only if nothing ran for the whole while
        # (closing drops the copies, which a long computation just made).
        if time.monotonic() - self._used >= IDLE_CLOSE_SECONDS:
            self.close()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db, self._db_identity, self._context = None, None, None
            self._source = None

    def context_of(self, ident: Identity) -> tuple[Identity, Context]:
        opened = self.open(ident)
        if self._context is None:
            assert self._source is not None
            self._context = context(self._source)
        return opened, self._context

    def compute(self, ident: Identity, names: Sequence[str], f: Filters
                 ) -> tuple[Identity, dict[str, Json]]:
        opened, ctx = self.context_of(ident)
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

    def rows(self, sql: str, params: dict[str, Any], ident: Identity) -> Rows:
        self.open(ident)
        assert self.db is not None
        rows = self.db.query(sql, params)[1]
        self._used = time.monotonic()
        return rows
