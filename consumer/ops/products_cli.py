"""`learnstream products map|load|list`: fill and show product_courses.

map and load send one `products` request to the store's owner (consumer/control.py): the
running consumer applies it between batches and republishes the snapshot before answering;
with no consumer the command applies it and refreshes an existing snapshot itself. list reads
the consumer's file when it is free, else the snapshot the running consumer publishes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from consumer import control
from consumer.ops import products
from consumer.readers.terminal import console, fail, table
from consumer.settings import ConsumerSettings, load_with_args
from consumer.snapshot import publish
from consumer.store import Error as StoreError
from consumer.store import ReadOnly, Store, one_line

PROG = "learnstream products"


def _arguments(parser: argparse.ArgumentParser) -> None:
    # Positionals, not subparsers: the settings flags (--data-dir) may then come anywhere.
    parser.add_argument("action", choices=("map", "load", "list"),
                        help="map PRODUCT COURSE_KEY; load FILE.csv (product_id,course_key"
                             "[,school_key]); list")
    parser.add_argument("values", nargs="*", metavar="ARG")
    parser.add_argument("--school", metavar="KEY", help="map: the seller, myeduzz:<producer "
                        "id> (default: the one seller whose invoices name the product)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="how long to wait for a running consumer to apply it (default: 60)")


def main(argv: Sequence[str]) -> None:
    """`learnstream products map PRODUCT COURSE_KEY | load FILE.csv | list`."""
    # The subcommand first reads naturally; settings flags may come before or after it.
    settings, args = load_with_args(ConsumerSettings, argv, PROG, _arguments)
    if args.action == "list":
        if args.values:
            fail(PROG, "usage: learnstream products list", 2)
        _list(settings)
        return
    try:
        rows = _rows(args)
    except (OSError, ValueError) as exc:
        fail(PROG, str(exc))
    if not settings.db_path.is_file():
        fail(PROG, f"{settings.db_path} does not exist: no consumer has stored anything there "
                   "(--data-dir / LEARNSTREAM_DATA_DIR)")

    def direct(store: Store, run: Callable[[], control.Counts]) -> control.Counts:
        counts = run()
        if settings.snapshot_path.exists():  # no consumer: the snapshot must not go stale
            publish(store, settings.snapshot_path)
        return counts

    try:
        counts = control.submit(settings.db_path, settings.data_dir, products.KIND.name,
                                {"rows": [list(r) for r in rows]}, args.timeout, direct)
    except (control.BadRequest, control.Timeout) as exc:
        fail(PROG, str(exc))
    print(f"mapped {counts['mapped']} product-course pairs ({counts['already_mapped']} "
          f"already mapped) in {settings.db_path}; the snapshot shows them")


def _rows(args: argparse.Namespace) -> list[tuple[str, str, str | None]]:
    if args.action == "map":
        if len(args.values) != 2:
            raise ValueError("usage: learnstream products map PRODUCT COURSE_KEY [--school KEY]")
        product, course = args.values
        problem = products.check_course(course) or (
            products.check_school(args.school) if args.school else None)
        if problem:
            raise ValueError(problem)
        return [(product, course, args.school)]
    if len(args.values) != 1:
        raise ValueError("usage: learnstream products load FILE.csv")
    path = Path(args.values[0])
    return products.parse_csv(path.read_text(encoding="utf-8"), str(path))


def _list(settings: ConsumerSettings) -> None:
    """The consumer's file when nobody writes it, else its snapshot."""
    source = settings.db_path
    try:
        db = ReadOnly(source)
    except (FileNotFoundError, StoreError):
        source = settings.snapshot_path
        try:
            db = ReadOnly(source)
        except (FileNotFoundError, StoreError) as exc:
            fail(PROG, f"neither {settings.db_path} nor its snapshot can be read: "
                       f"{one_line(exc)}", 2)
    with db:
        try:
            columns, rows = db.query(products.LIST)
        except StoreError as exc:
            fail(PROG, one_line(exc))
    console().print(table(columns, rows, f"product_courses in {source}",
                          None if rows else "no mapping yet: learnstream products map"))
