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


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], width: int,
          title: str | None = None, caption: str | None = None) -> Table:
    """A rich table `width` characters wide at most, one line per row: numbers, dates and
    other short values keep their width; text (keys, names) shares the rest, cut with an
    ellipsis."""
    out = Table(title=title, caption=caption, title_justify="left", box=box.SIMPLE_HEAD)
    cells = [[cell(v) for v in row] for row in rows]
    natural = [max([len(name), *(len(r[i]) for r in cells)]) for i, name in enumerate(columns)]
    samples = [next((r[i] for r in rows if r[i] is not None), None) for i in range(len(columns))]
    text = [not isinstance(s, SHORT) for s in samples]
    # Each column costs 3 characters: padding and the space between columns.
    room = width - 3 * len(columns) - sum(n for n, t in zip(natural, text, strict=True)
                                                if not t)
    wanted = sum(n for n, t in zip(natural, text, strict=True) if t) or 1
    for name, n, is_text, sample in zip(columns, natural, text, samples, strict=True):
        numeric = isinstance(sample, int | float | Decimal) and not isinstance(sample, bool)
        fit = max(TEXT_WIDTH, room * n // wanted) if is_text else n
        out.add_column(name, justify="right" if numeric else "left", no_wrap=True,
                       overflow="ellipsis", width=min(n, fit))
    for row in cells:
        out.add_row(*row)
    return out
