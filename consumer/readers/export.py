"""`learnstream export`: every table and view of the snapshot to Parquet or CSV files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from consumer.readers.terminal import fail, open_snapshot, settings_and_args
from consumer.store import Error as StoreError
from consumer.store import ExportFormat, ReadOnly, one_line

PROG = "learnstream export"


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                        help="one file per table or view (default: parquet)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="directory for the files (created if missing; files replaced)")


def main(argv: Sequence[str]) -> None:
    """`learnstream export [--snapshot PATH] [--format parquet|csv] --out DIR`."""
    settings, args = settings_and_args(argv, PROG, _add_arguments)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(PROG, f"cannot create {out}: {exc.strerror}")
    with open_snapshot(settings, PROG) as db:
        written = export_all(db, out, args.format)
    rows = sum(n for _, n in written)
    sys.stdout.write(f"exported {len(written)} tables and views ({rows} rows) from {db.path} "
                     f"to {out}\n")  # one line, never wrapped: scripts may read it


def export_all(db: ReadOnly, out: Path, fmt: ExportFormat) -> list[tuple[Path, int]]:
    """Write every table and view to `out/<name>.<fmt>`, showing progress on stderr;
    (file, rows) of each. Table macros take arguments, so they are not exported."""
    relations = db.relations()
    written: list[tuple[Path, int]] = []
    # stderr: stdout keeps only the summary line, for scripts.
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True)) as progress:
        task = progress.add_task("exporting", total=len(relations))
        for name, _kind in relations:
            progress.update(task, description=name)
            dest = out / f"{name}.{fmt}"
            try:
                written.append((dest, db.export(name, dest, fmt)))
            except StoreError as exc:
                fail(PROG, f"{name}: {one_line(exc)}")
            progress.advance(task)
        progress.update(task, description="done")
    return written
