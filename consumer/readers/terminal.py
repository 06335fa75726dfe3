"""What the readers' commands (report, sql, export) share: their settings, the snapshot they
open, one-line errors, and rich tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any, NoReturn
from uuid import UUID

from rich import box
from rich.console import Console
from rich.table import Table

from consumer.settings import ReaderSettings, load_with_args
from consumer.store import Error as StoreError
from consumer.store import ReadOnly, one_line

MISSING = 2  # exit status when there is no snapshot to read
SHORT = (int, float, Decimal, date, time, timedelta, UUID)  # values that keep their width
TEXT_WIDTH = 8  # narrowest a text column gets, however many columns there are


def fail(prog: str, message: str, status: int = 1) -> NoReturn:
    """Exit with `prog: message` on stderr, one line."""
    sys.stderr.write(f"{prog}: {message}\n")
    raise SystemExit(status)


def settings_and_args(argv: Sequence[str], prog: str,
                      add: Callable[[argparse.ArgumentParser], None]
                      ) -> tuple[ReaderSettings, argparse.Namespace]:
    """ReaderSettings (flags or LEARNSTREAM_*) and the command's own arguments."""
    return load_with_args(ReaderSettings, argv, prog, add)


def open_snapshot(settings: ReaderSettings, prog: str) -> ReadOnly:
    """The snapshot, read-only; a missing or unreadable file exits 2 saying what to do."""
    path = settings.snapshot_path
    try:
        return ReadOnly(path)
    except FileNotFoundError:
        fail(prog, f"no snapshot at {path}: the consumer publishes it while it runs "
                   f"(learnstream up or consume --data-dir {settings.data_dir}); "
                   "or pass --snapshot PATH", MISSING)
    except StoreError as exc:
        fail(prog, f"cannot open {path}: {one_line(exc)}", MISSING)


def query(db: ReadOnly, prog: str, sql: str,
          params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run `sql`; a DuckDB error exits 1 with its message on one line."""
    try:
        return db.query(sql, params)
    except StoreError as exc:
        fail(prog, one_line(exc))


def cell(value: object) -> str:
    """How a value reads in a terminal table, on one line: NULL is blank."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return " ".join(str(value).split())  # a JSON body's newlines and indents


def console() -> Console:
    """stdout for tables: a terminal's own width; through a pipe or into a file, as wide as
    the table is (nothing folded: the reader is a pager, grep or a file)."""
    return Console() if sys.stdout.isatty() else Console(width=100_000)


def table(columns: Sequence[str], rows: Sequence[Sequence[object]],
          title: str | None = None, caption: str | None = None) -> Table:
    """A rich table as wide as the console where it fits. Nothing is ever cut:
    numbers, dates and other short values keep their width, headers and text (keys, names,
    bodies) fold onto more lines when the room runs out."""
    out = Table(title=title, caption=caption, title_justify="left", box=box.SIMPLE_HEAD)
    cells = [[cell(v) for v in row] for row in rows]
    values = [max((len(r[i]) for r in cells), default=0) for i in range(len(columns))]
    samples = [next((r[i] for r in rows if r[i] is not None), None) for i in range(len(columns))]
    for name, n, sample in zip(columns, values, samples, strict=True):
        numeric = isinstance(sample, int | float | Decimal) and not isinstance(sample, bool)
        short = isinstance(sample, SHORT)
        out.add_column(name, justify="right" if numeric else "left", overflow="fold",
                       min_width=max(n, 1) if short else min(max(n, len(name), 1), TEXT_WIDTH))
    for row in cells:
        out.add_row(*row)
    return out
