"""`learnstream demo`: the whole stack on temporary ports, fed the bundled samples, signed as
the platforms sign them; then what landed in DuckDB, printed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from consumer import launcher, logs, store
from consumer.broker import free_port
from consumer.settings import SNAPSHOT_FILE, LauncherSettings, load


def demo_main(argv: Sequence[str]) -> None:
    """`learnstream demo`: start, post every sample, stop, print the tables and the funnel."""
    given = load(LauncherSettings, argv, "learnstream demo")
    quiet = "WARNING" if given.log_level.upper() == "INFO" else given.log_level
    logs.setup(quiet, given.log_format)
    data_dir = given.data_dir if "--data-dir" in argv or "LEARNSTREAM_DATA_DIR" in os.environ \
        else tempfile.mkdtemp(prefix="learnstream-demo-")
    # The demo signs its own traffic with secrets of its own, as a platform would.
    settings = msgspec.structs.replace(
        given, data_dir=data_dir, http_port=free_port(), broker_port=free_port(),
        log_level=quiet, eduzz_secrets=secrets.token_hex(16),
        toolzz_token=secrets.token_urlsafe(16), allow_unsigned=False)
    stack = launcher.Stack(settings)
    statuses: list[tuple[str, int]] = []

    def ready(s: launcher.Stack) -> None:
        print(f"ready: {s.url} (broker {s.bootstrap}, data in {data_dir})", flush=True)
        asyncio.get_running_loop().create_task(_post_samples(s, statuses))

    try:
        asyncio.run(launcher.run_until_signal(stack, ready))
    except launcher.ChildFailed as exc:
        sys.exit(f"learnstream demo: {exc}")
    for name, status in statuses:
        print(f"  POST {name:60} -> {status}")
    _print_results(launcher.db_path(settings))
    print(f"\nExplore: learnstream report --data-dir {data_dir}, or "
          f"duckdb.connect({str(Path(data_dir) / SNAPSHOT_FILE)!r}, read_only=True)")
    failed = [name for name, status in statuses if status != 200]
    if failed or len(statuses) != len(samples()):
        sys.exit(f"learnstream demo: {len(failed)} of {len(samples())} posts were not accepted")


def samples() -> list[tuple[str, str, bytes]]:
    """(name, source, body) of the bundled sample webhooks, in posting order."""
    files = sorted((f for f in resources.files("consumer").joinpath("samples").iterdir()
                    if f.name.endswith(".json")), key=lambda f: f.name)
    return [(f.name, "toolzz" if f.name.startswith("toolzz") else "eduzz", f.read_bytes())
            for f in files]


def eduzz_signature(secret: str, body: bytes) -> str:
    """`x-signature` as Eduzz computes it: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def _post_samples(stack: launcher.Stack, statuses: list[tuple[str, int]]) -> None:
    s = stack.settings
    paths = {"eduzz": "/webhooks/eduzz", "toolzz": f"/webhooks/toolzz/{s.toolzz_token}"}
    try:
        async with aiohttp.ClientSession() as http:
            for name, source, body in samples():
                headers = {"content-type": "application/json"}
                if source == "eduzz":
                    headers["x-signature"] = eduzz_signature(s.eduzz_secrets, body)
                async with http.post(stack.url + paths[source], data=body,
                                     headers=headers) as resp:
                    statuses.append((name, resp.status))
    finally:
        stack.stop()


def _print_results(path: Path) -> None:
    print(f"\nLanded in {path}:")
    _table(*store.read(path, """
        select 'raw_events' as "table", count(*) as rows from raw_events
        union all select 'learning_events', count(*) from learning_events
        union all select 'dead_letters', count(*) from dead_letters"""))
    print("\nlearning_events:")
    _table(*store.read(path, """select action, learner_key, course_key, occurred_at
                                from learning_events order by occurred_at, action"""))
    print("\ncourse_funnel:")
    _table(*store.read(path, """select course_key, course_name, learners, enrolled, started,
                                       completed_lesson, completed_module, completed_course
                                from course_funnel order by course_key"""))


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for r in cells:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
