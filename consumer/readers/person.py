"""`learnstream person <e-mail, CPF or learner key>`: everything the store holds about one
person (LGPD Art. 18: confirmation of and access to their data), read from the snapshot: their
events per table, their current state per course, their purchases; `--format json` is the
document to send them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import msgspec

from consumer.readers.terminal import console, fail, open_snapshot, settings_and_args, table
from consumer.sources.personal import NotAnIdentifier, identity
from consumer.store import Error as StoreError
from consumer.store import one_line
from consumer.store.disclose import disclose

PROG = "learnstream person"


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("person", metavar="EMAIL_OR_LEARNER_KEY",
                        help="an e-mail, a CPF or a learner key (platform:id), or several of "
                             "one person's joined by commas")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="tables for the operator, or one JSON object for the person")


def main(argv: Sequence[str]) -> None:
    """`learnstream person [--snapshot PATH] [--format table|json] EMAIL_OR_LEARNER_KEY`."""
    settings, args = settings_and_args(argv, PROG, _add_arguments)
    try:
        identities = [identity(i) for i in args.person.split(",") if i.strip()]
    except NotAnIdentifier as exc:
        fail(PROG, str(exc))
    with open_snapshot(settings, PROG) as db:
        try:
            sections = db.run(lambda con: disclose(con, identities))
        except StoreError as exc:
            fail(PROG, one_line(exc))
    if args.format == "json":
        document = {name: [dict(zip(columns, row, strict=True)) for row in rows]
                    for name, (columns, rows) in sections.items()}
        document["identities"] = [r["identity"] for r in document["identities"]]
        sys.stdout.write(msgspec.json.encode(document, enc_hook=str).decode() + "\n")
        return
    out = console()
    for name, (columns, rows) in sections.items():
        out.print(f"{name}: {len(rows)} rows")
        if rows:
            out.print(table(columns, rows))
