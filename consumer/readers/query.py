"""`learnstream sql "SELECT ..."`: one query on the snapshot, as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import Any

import msgspec

from consumer.readers.terminal import console as terminal_console
from consumer.readers.terminal import open_snapshot, query, settings_and_args, table

PROG = "learnstream sql"


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("statement", metavar="SQL", help="one query (the snapshot is "
                        "read-only: statements that write fail)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table",
                        help="table for people; csv (with a header) or json (an array of "
                             "objects) for scripts (default: table)")


def main(argv: Sequence[str]) -> None:
    """`learnstream sql [--snapshot PATH] [--format table|csv|json] SQL`."""
    settings, args = settings_and_args(argv, PROG, _add_arguments)
    with open_snapshot(settings, PROG) as db:
        columns, rows = query(db, PROG, args.statement)
    if args.format == "csv":
        write_csv(columns, rows)
    elif args.format == "json":
        write_json(columns, rows)
    else:
        console = terminal_console()
        console.print(table(columns, rows))


def write_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """RFC 4180 CSV on stdout, header first; NULL is an empty field, lists and structs JSON."""
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(columns)
    out.writerows([_csv_value(v) for v in row] for row in rows)


def _csv_value(value: Any) -> Any:
    """NULL is an empty field; a list or struct is its JSON (Python's repr is no format)."""
    if value is None:
        return ""
    if isinstance(value, list | dict | tuple):
        return msgspec.json.encode(value, enc_hook=str).decode()
    return value


def write_json(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A JSON array of objects on stdout: timestamps ISO-8601, decimals as strings (exact),
    blobs base64, lists and structs as arrays and objects."""
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    # A value msgspec has no JSON form for is written as its text rather than failing.
    sys.stdout.write(msgspec.json.encode(records, enc_hook=str).decode() + "\n")
