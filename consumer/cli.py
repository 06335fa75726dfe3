"""The `learnstream` command: consume, ingest, broker, up, demo; report, sql, export."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from consumer import metrics
from consumer.ops import check, forget, launcher, products_cli, repair
from consumer.ops.broker import EmbeddedBroker
from consumer.readers import export, person, query, report
from consumer.readers.dashboard import main as dashboard
from consumer.settings import BrokerSettings, ConsumerSettings, LauncherSettings, load
from consumer.sources import catalog
from consumer.store import Error as StoreError
from consumer.store import Store, explain
from consumer.store.owner import InUse
from consumer.store.suppression import KeyProblem
from consumer.worker import StoreFailed, Worker
from ingest import logs

USAGE = """usage: learnstream COMMAND [options]

commands:
  up        broker (embedded unless --bootstrap), receiver, consumer and dashboard;
            Ctrl-C stops all
  demo      `up` on temporary ports, post a simulated run of learners' webhooks, print
            what landed and the course funnel, stop (--serve: keep it and the dashboard
            up until Ctrl-C)
  ingest    the webhook receiver alone
  consume   the consumer alone (Kafka -> DuckDB)
  broker    the embedded development broker alone (memory only)
  events    the supported event types and their actions, as a markdown table
  rebuild   re-derive learning_events and commerce_events from raw_events (no Kafka)
  replay-dead-letters
            re-decode dead letters with the current code; those that decode move
  products  map MyEduzz products to courses: map PRODUCT COURSE_KEY, load FILE.csv, list
  report    funnel, engagement and at-risk tables from the snapshot (while ingestion runs)
  sql       one query on the snapshot: a table, or --format csv|json
  export    every table and view of the snapshot to --format parquet|csv files
  dashboard funnels, engagement, retention, at-risk learners and data quality as a page of
            charts over the snapshot (http://127.0.0.1:8050/)
  person    everything the snapshot holds about one person (--format json to send them)
  forget    erase people (e-mail, CPF or learner key) from the store, bytes included, and
            never store them again (LGPD; works while the consumer runs)
  check     broker reachable, topic present, data dir writable, secrets set; exit 1 if not
  bench     the benchmarks of tests/bench (a clone of the repository): one table + JSON

`learnstream COMMAND --help` lists a command's options; every option can also be set
with a LEARNSTREAM_* environment variable (see the README's configuration table).
"""


def main(argv: Sequence[str] | None = None) -> None:
    """Dispatch to a subcommand; a reader that stops reading (`| head`) ends it quietly."""
    try:
        _dispatch(argv)
        sys.stdout.flush()  # here, not at exit, so a closed pipe is caught below
    except BrokenPipeError:  # as Unix tools: no traceback, the status of a SIGPIPE death
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no 2nd flush error
        sys.exit(128 + signal.SIGPIPE)


def _dispatch(argv: Sequence[str] | None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    command, rest = args[0], args[1:]
    if command == "ingest":
        # The receiver is its own package and process; hand over without importing it.
        os.execv(sys.executable, [sys.executable, "-m", "ingest", *rest])
    if command == "bench":
        bench_main(rest)
        return
    commands: dict[str, Callable[[Sequence[str]], None]] = {
        "consume": consume_main, "broker": broker_main, "up": up_main, "demo": demo_main,
        "events": events_main, "rebuild": rebuild_main, "replay-dead-letters": replay_main,
        "products": products_cli.main,
        "report": report.main, "sql": query.main, "export": export.main,
        "dashboard": dashboard.main, "forget": forget.main, "person": person.main,
        "check": check.main}
    if command not in commands:
        sys.exit(f"learnstream: unknown command {command!r}\n\n{USAGE}")
    commands[command](rest)


def bench_main(argv: Sequence[str]) -> None:
    """`learnstream bench [--quick]`: the benchmarks live with the tests, in a clone."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "tests" / "bench" / "run.py").is_file():
        sys.exit("learnstream bench: the benchmarks need a clone of the repository "
                 "(tests/bench/ is not installed with the package)")
    os.chdir(root)
    os.execve(sys.executable, [sys.executable, "-m", "tests.bench.run", *argv],
              {**os.environ, "PYTHONPATH": str(root)})


def demo_main(argv: Sequence[str]) -> None:
    """`learnstream demo` (its own module: it signs and posts like a platform)."""
    from consumer.ops.demo import demo_main as run

    run(argv)


def rebuild_main(argv: Sequence[str]) -> None:
    """`learnstream rebuild`: re-derive learning and commerce rows from raw_events."""
    settings = load(ConsumerSettings, argv, "learnstream rebuild")
    logs.setup(settings.log_level, settings.log_format)
    print(_repair(repair.rebuild, settings))


def replay_main(argv: Sequence[str]) -> None:
    """`learnstream replay-dead-letters`: re-decode dead letters with the current code."""
    settings = load(ConsumerSettings, argv, "learnstream replay-dead-letters")
    logs.setup(settings.log_level, settings.log_format)
    print(_repair(repair.replay_dead_letters, settings))


def _repair(operation: Callable[[ConsumerSettings], Any], settings: ConsumerSettings) -> str:
    try:
        result = operation(settings)
    except RuntimeError as exc:  # file missing or held by a running consumer
        sys.exit(f"learnstream: {exc}")
    return " ".join(f"{k}={v}" for k, v in result._asdict().items())


def events_main(argv: Sequence[str]) -> None:
    """`learnstream events`: the supported event types as the README's markdown table."""
    print(catalog.markdown(), end="")


def consume_main(argv: Sequence[str] | None = None) -> None:
    """`learnstream consume`: store batches until SIGINT/SIGTERM; exit non-zero on store errors."""
    settings = load(ConsumerSettings, sys.argv[1:] if argv is None else argv,
                    "learnstream consume")
    logs.setup(settings.log_level, settings.log_format)
    asyncio.run(_consume(settings))


async def _consume(settings: ConsumerSettings) -> None:
    try:
        db = await asyncio.to_thread(Store, settings.db_path, settings.memory_limit)
    except (OSError, StoreError, InUse) as exc:  # not a dir, not writable, locked by another
        raise SystemExit(f"learnstream consume: cannot open {settings.db_path} (--data-dir / "
                         f"LEARNSTREAM_DATA_DIR): {explain(exc, settings.data_dir)}") from None
    worker = Worker(settings, db)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)

    server = None
    try:
        if settings.metrics_port:
            try:
                server = await metrics.serve(worker.metrics, settings.metrics_port,
                                             lambda: worker.running, lambda: worker.ready)
            except OSError as exc:
                raise SystemExit(f"learnstream consume: cannot serve metrics on port "
                                 f"{settings.metrics_port} (--metrics-port / "
                                 f"LEARNSTREAM_METRICS_PORT): {exc.strerror}") from None
        await worker.run(on_ready=lambda: print(
            f"consumer ready: {settings.db_path} (readers: {settings.snapshot_path})", flush=True))
    except (StoreFailed, KeyProblem) as exc:
        logging.getLogger(__name__).error("%s", exc)
        raise SystemExit(f"learnstream consume: {exc}") from None
    finally:
        if server is not None:
            await server.cleanup()
        try:
            await asyncio.to_thread(db.close)
        except StoreError as exc:  # the WAL keeps what the file lacks: nothing is lost
            raise SystemExit(f"learnstream consume: closing the store failed: "
                             f"{explain(exc, settings.data_dir)}") from None
        logging.getLogger(__name__).info("consumer stopped; %d events stored", worker.stored)


def broker_main(argv: Sequence[str]) -> None:
    """`learnstream broker`: run the embedded broker in the foreground."""
    settings = load(BrokerSettings, argv, "learnstream broker")
    logs.setup("INFO")
    # The broker's own log goes to stderr; stdout carries only our ready line.
    # SIGTERM must also stop the broker, which runs in its own session and would outlive us.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    broker = EmbeddedBroker(settings.broker_port, output=sys.stderr.fileno()).start()
    try:
        # Inside the try: a signal sent as soon as the ready line is read can land before
        # print returns (a traceback and exit status -2 in one CI run of test_cli).
        print(f"broker ready: {broker.bootstrap} (memory only: data is lost when it stops)",
              flush=True)
        broker.wait()
    except KeyboardInterrupt:
        broker.stop()


def up_main(argv: Sequence[str]) -> None:
    """`learnstream up`: run the whole stack until SIGINT/SIGTERM."""
    settings = load(LauncherSettings, argv, "learnstream up")
    logs.setup(settings.log_level, settings.log_format)
    refusal = launcher.refuse_unsigned(settings)
    if refusal:
        sys.exit(f"learnstream up: {refusal}")
    stack = launcher.Stack(settings)
    try:
        asyncio.run(launcher.run_until_signal(stack, lambda s: print(
            f"ready: {s.url}\nsnapshot for readers: {launcher.snapshot_path(settings)}"
            + (f"\ndashboard: {s.dashboard_url}" if s.dashboard_url else ""), flush=True)))
    except launcher.ChildFailed as exc:
        sys.exit(f"learnstream up: {exc}")
