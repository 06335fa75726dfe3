"""The `learnstream` command: consume, ingest, broker, up, demo."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from consumer import catalog, launcher, logs, repair
from consumer.broker import EmbeddedBroker
from consumer.settings import BrokerSettings, ConsumerSettings, LauncherSettings, load
from consumer.store import Store
from consumer.worker import StoreFailed, Worker

USAGE = """usage: learnstream COMMAND [options]

commands:
  up        broker (embedded unless --bootstrap), receiver and consumer; Ctrl-C stops all
  demo      `up` on temporary ports, post a simulated run of learners' webhooks, print
            what landed and the course funnel, stop
  ingest    the webhook receiver alone
  consume   the consumer alone (Kafka -> DuckDB)
  broker    the embedded development broker alone (memory only)
  events    the supported event types and their actions, as a markdown table
  rebuild   re-derive learning_events and commerce_events from raw_events (no Kafka)
  replay-dead-letters
            re-decode dead letters with the current code; those that decode move

`learnstream COMMAND --help` lists a command's options; every option can also be set
with a LEARNSTREAM_* environment variable (see the README's configuration table).
"""


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
        "events": events_main, "rebuild": rebuild_main,
        "replay-dead-letters": replay_main}
    if command not in commands:
        sys.exit(f"learnstream: unknown command {command!r}\n\n{USAGE}")
    commands[command](rest)


def demo_main(argv: Sequence[str]) -> None:
    """`learnstream demo` (its own module: it signs and posts like a platform)."""
    from consumer.demo import demo_main as run

    run(argv)


def rebuild_main(argv: Sequence[str]) -> None:
    """`learnstream rebuild`: re-derive learning and commerce rows from raw_events."""
    settings = load(ConsumerSettings, argv, "learnstream rebuild")
    logs.setup(settings.log_level)
    print(_repair(repair.rebuild, settings))


def replay_main(argv: Sequence[str]) -> None:
    """`learnstream replay-dead-letters`: re-decode dead letters with the current code."""
    settings = load(ConsumerSettings, argv, "learnstream replay-dead-letters")
    logs.setup(settings.log_level)
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
    logs.setup(settings.log_level)
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
    logs.setup("INFO")
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
    logs.setup(settings.log_level)
    refusal = launcher.refuse_unsigned(settings)
    if refusal:
        sys.exit(f"learnstream up: {refusal}")
    stack = launcher.Stack(settings)
    try:
        asyncio.run(launcher.run_until_signal(
            stack, lambda s: print(f"ready: {s.url}", flush=True)))
    except launcher.ChildFailed as exc:
        sys.exit(f"learnstream up: {exc}")
