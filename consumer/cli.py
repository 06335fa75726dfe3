"""The `learnstream` command: consume, ingest, broker, up, demo."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp

from consumer import catalog, launcher, store
from consumer.broker import EmbeddedBroker, free_port
from consumer.settings import BrokerSettings, ConsumerSettings, LauncherSettings, load
from consumer.store import Store
from consumer.worker import StoreFailed, Worker

USAGE = """usage: learnstream COMMAND [options]

commands:
  up        broker (embedded unless --bootstrap), receiver and consumer; Ctrl-C stops all
  demo      `up` on temporary ports, post the sample webhooks, print what landed, stop
  ingest    the webhook receiver alone
  consume   the consumer alone (Kafka -> DuckDB)
  broker    the embedded development broker alone (memory only)
  events    the supported event types and their actions, as a markdown table

`learnstream COMMAND --help` lists a command's options; every option can also be set
with a LEARNSTREAM_* environment variable (see the README's configuration table).
"""


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiokafka narrates every group rebalance at INFO; our own lines say what matters.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))


def main(argv: Sequence[str] | None = None) -> None:
    """Dispatch to a subcommand."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    command, rest = args[0], args[1:]
    if command == "ingest":
        # The receiver is its own package and process; hand over without importing it.
        os.execv(sys.executable, [sys.executable, "-m", "ingest", *rest])
    commands: dict[str, Callable[[Sequence[str]], None]] = {
        "consume": consume_main, "broker": broker_main, "up": up_main, "demo": demo_main,
        "events": events_main}
    if command not in commands:
        sys.exit(f"learnstream: unknown command {command!r}\n\n{USAGE}")
    commands[command](rest)


def events_main(argv: Sequence[str]) -> None:
    """`learnstream events`: the supported event types as the README's markdown table."""
    print(catalog.markdown(), end="")


def consume_main(argv: Sequence[str] | None = None) -> None:
    """`learnstream consume`: store batches until SIGINT/SIGTERM; exit non-zero on store errors."""
    settings = load(ConsumerSettings, sys.argv[1:] if argv is None else argv,
                    "learnstream consume")
    _logging(settings.log_level)
    asyncio.run(_consume(settings))


async def _consume(settings: ConsumerSettings) -> None:
    db = await asyncio.to_thread(Store, settings.db_path)
    worker = Worker(settings, db)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)

    def ready() -> None:
        print(f"consumer ready: {settings.db_path}", flush=True)

    try:
        await worker.run(on_ready=ready)
    except StoreFailed as exc:
        logging.getLogger(__name__).error("%s", exc)
        raise SystemExit(f"learnstream consume: {exc}") from None
    finally:
        await asyncio.to_thread(db.close)
        logging.getLogger(__name__).info("consumer stopped; %d events stored", worker.stored)


def broker_main(argv: Sequence[str]) -> None:
    """`learnstream broker`: run the embedded broker in the foreground."""
    settings = load(BrokerSettings, argv, "learnstream broker")
    _logging("INFO")
    # The broker's own log goes to stderr; stdout carries only our ready line.
    broker = EmbeddedBroker(settings.broker_port, output=sys.stderr.fileno()).start()
    print(f"broker ready: {broker.bootstrap} (memory only: data is lost when it stops)",
          flush=True)
    # SIGTERM must also stop the broker, which runs in its own session and would outlive us.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        broker.wait()
    except KeyboardInterrupt:
        broker.stop()


def up_main(argv: Sequence[str]) -> None:
    """`learnstream up`: run the whole stack until SIGINT/SIGTERM."""
    settings = load(LauncherSettings, argv, "learnstream up")
    _logging(settings.log_level)
    refusal = launcher.refuse_unsigned(settings)
    if refusal:
        sys.exit(f"learnstream up: {refusal}")
    stack = launcher.Stack(settings)
    try:
        asyncio.run(launcher.run_until_signal(
            stack, lambda s: print(f"ready: {s.url}", flush=True)))
    except launcher.ChildFailed as exc:
        sys.exit(f"learnstream up: {exc}")


def demo_main(argv: Sequence[str]) -> None:
    """`learnstream demo`: start, post every sample, stop, print the tables and the funnel."""
    given = load(LauncherSettings, argv, "learnstream demo")
    quiet = "WARNING" if given.log_level.upper() == "INFO" else given.log_level
    _logging(quiet)
    data_dir = given.data_dir if "--data-dir" in argv or "LEARNSTREAM_DATA_DIR" in os.environ \
        else tempfile.mkdtemp(prefix="learnstream-demo-")
    import msgspec

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
    print(f"\nExplore: duckdb.connect({str(launcher.db_path(settings))!r}, read_only=True)")
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
