"""`learnstream demo`: the whole stack on temporary ports, fed a journey simulator run (the
webhooks of `--learners` simulated learners and their MyEduzz purchases, redeliveries and
late arrivals included) signed as the platforms sign them, with the products mapped to their
courses through the running consumer; then what landed in DuckDB, the course funnel and the
purchase funnel, printed."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from consumer import control, store
from consumer.journeys import Delivery, identity, journeys, product_mapping
from consumer.ops import launcher, products
from consumer.ops.broker import free_port
from consumer.settings import SNAPSHOT_FILE, DemoSettings, load_with_args
from ingest import logs
from ingest.signature import eduzz_signature

SEED = 2024  # the same run every time
LANES = 8  # webhooks posted at once

def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serve", action="store_true",
                        help="after posting, keep the stack and the dashboard up until Ctrl-C")


def demo_main(argv: Sequence[str]) -> None:
    """`learnstream demo [--serve]`: start, post a simulated run, print where the dashboard
    is, stop (or with --serve wait for Ctrl-C), print the tables and the funnel."""
    given, args = load_with_args(DemoSettings, argv, "learnstream demo", _add_arguments)
    quiet = "WARNING" if given.log_level.upper() == "INFO" else given.log_level
    logs.setup(quiet, given.log_format)
    data_dir = given.data_dir if "--data-dir" in argv or "LEARNSTREAM_DATA_DIR" in os.environ \
        else tempfile.mkdtemp(prefix="learnstream-demo-")
    # The demo signs its own traffic with secrets of its own, as a platform would.
    settings = msgspec.structs.replace(
        given, data_dir=data_dir, http_port=free_port(), broker_port=free_port(),
        # A free port unless one was asked for (0 turns the dashboard off).
        dashboard_port=given.dashboard_port if "--dashboard-port" in argv
        or "LEARNSTREAM_DASHBOARD_PORT" in os.environ else free_port(),
        log_level=quiet, eduzz_secrets=secrets.token_hex(16),
        toolzz_token=secrets.token_urlsafe(16), allow_unsigned=False)
    stack = launcher.Stack(settings)
    run = journeys(settings.learners, SEED, sales=True)
    statuses: list[int] = []

    def ready(s: launcher.Stack) -> None:
        print(f"ready: {s.url} (broker {s.bootstrap}, data in {data_dir})", flush=True)
        if s.dashboard_url:
            print(f"dashboard: {s.dashboard_url}", flush=True)
        asyncio.get_running_loop().create_task(_post_run(s, run, statuses, args.serve))

    try:
        asyncio.run(launcher.run_until_signal(stack, ready))
    except launcher.ChildFailed as exc:
        sys.exit(f"learnstream demo: {exc}")
    counted = ", ".join(f"{n} x {status}" for status, n in sorted(Counter(statuses).items()))
    print(f"posted {len(statuses)} webhooks of {settings.learners} simulated learners and "
          f"their purchases "
          f"({len(run) - len({identity(d) for d in run})} of them redeliveries): {counted}")
    _print_results(launcher.db_path(settings))
    print(f"\nExplore: learnstream report --data-dir {data_dir}, or "
          f"duckdb.connect({str(Path(data_dir) / SNAPSHOT_FILE)!r}, read_only=True)")
    failed = sum(1 for status in statuses if status != 200)
    if failed or len(statuses) != len(run):
        sys.exit(f"learnstream demo: {failed + len(run) - len(statuses)} of {len(run)} posts "
                 "were not accepted")


async def _post_run(stack: launcher.Stack, run: list[Delivery], statuses: list[int],
                    serve: bool = False) -> None:
    """Map the products (a request the running consumer applies), then POST every delivery,
    a few at once; the copies of one event on one lane, in order. Then stop the stack,
    unless `serve`: then it runs until Ctrl-C."""
    s = stack.settings
    rows = [[product, course, school] for school, product, course in product_mapping(SEED)]
    await asyncio.to_thread(control.submit, launcher.db_path(s), s.data_dir,
                            products.KIND.name, {"rows": rows}, 60.0)
    paths = {"eduzz": "/webhooks/eduzz", "toolzz": f"/webhooks/toolzz/{s.toolzz_token}"}
    lanes: list[list[Delivery]] = [[] for _ in range(LANES)]
    for d in run:
        lanes[zlib.crc32(identity(d).encode()) % LANES].append(d)

    async def lane(http: aiohttp.ClientSession, mine: list[Delivery]) -> None:
        for d in mine:
            headers = {"content-type": "application/json", **dict(d.headers)}
            if d.source == "eduzz":
                headers["x-signature"] = eduzz_signature(s.eduzz_secrets, d.body)
            async with http.post(stack.url + paths[d.source], data=d.body,
                                 headers=headers) as resp:
                statuses.append(resp.status)

    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(lane(http, mine) for mine in lanes))
    except BaseException:
        stack.stop()
        raise
    if not serve:
        stack.stop()
        return
    print(f"posted {len(statuses)} webhooks; serving until Ctrl-C"
          + (f": the dashboard at {stack.dashboard_url} shows them as the consumer "
             "publishes its snapshot" if stack.dashboard_url else ""), flush=True)


def _print_results(path: Path) -> None:
    print(f"\nLanded in {path}:")
    _table(*store.read(path, """
        select 'raw_events' as "table", count(*) as rows from raw_events
        union all select 'learning_events', count(*) from learning_events
        union all select 'commerce_events', count(*) from commerce_events
        union all select 'dead_letters', count(*) from dead_letters"""))
    print("\nlearning_events by action:")
    _table(*store.read(path, """select action, count(*) as events,
                                       count(distinct learner_key) as learners
                                from learning_events group by all order by events desc, action"""))
    print("\nunknown_events (kept, not errors):")
    _table(*store.read(path, "select source, event_type, events from unknown_events order by 2"))
    print("\ncourse_funnel:")
    _table(*store.read(path, """select course_key, course_name, learners, enrolled, started,
                                       completed_lesson, completed_module, completed_course
                                from course_funnel order by course_key"""))
    print("\npurchase_funnel (MyEduzz purchases, since payment; learnstream report --sales):")
    _table(*store.read(path, """
        select product_id, coalesce(course_key, '(unmapped)') as course_key,
               max(reached) filter (where step_number = 1) as paid,
               max(reached) filter (where step_number = 2) as started,
               max(reached) filter (where step_number = 3) as completed_lesson,
               max(reached) filter (where step_number = 5) as completed_course
        from purchase_funnel group by school_key, product_id, course_key
        order by paid desc, product_id, course_key"""))


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for r in cells:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
