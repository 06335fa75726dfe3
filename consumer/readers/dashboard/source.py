"""The snapshot file as the dashboard knows it: its identity (which file is at the path
now), the page for a missing one, and the panels' Query over one read-only connection."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from consumer.readers.dashboard.common import Rows
from consumer.store import ReadOnly


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

    def view(self, name: str, course: str | None = None) -> str:
        if not re.fullmatch(r"[a-z_]+", name):  # a view's name from panels.py, never input
            raise ValueError(f"not a view name: {name!r}")
        if course is not None and name not in self._copied:
            # One course's rows: DuckDB pushes `course_key = ...` into the view's scan (a
            # course's engagement terms), where copying a view whole first costs more.
            key = ("view", name, course)
            if key not in self._calls:
                table = f"_call_{len(self._calls)}"
                self._db.query(f"create temp table {table} as select * from {name} "
                               "where course_key = $course", {"course": course})
                self._calls[key] = table
            return self._calls[key]
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
