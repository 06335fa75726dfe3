"""`learnstream check`: is everything in place? One line per check, exit 1 if any failed.

Meant for operators and deploy scripts (`docker compose run --rm consumer check`): the
broker answers within `--check-timeout`, the topic exists, the data dir is writable, and
the receiver's secrets are set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from aiokafka.admin import AIOKafkaAdminClient

from consumer.settings import CheckSettings, load


class Result(NamedTuple):
    """One check: passed or not, and a line saying what was found."""

    ok: bool
    line: str


def main(argv: Sequence[str]) -> None:
    """Run every check, print one line each, exit 0 when all pass and 1 otherwise."""
    settings = load(CheckSettings, argv, "learnstream check")
    # aiokafka logs each failed connection attempt; the broker check's line says it once.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    results = asyncio.run(run_checks(settings))
    for result in results:
        print(f"{'ok' if result.ok else 'FAILED'}: {result.line}", flush=True)
    sys.exit(0 if all(r.ok for r in results) else 1)


async def run_checks(settings: CheckSettings) -> list[Result]:
    """Broker, topic, data dir, secrets, in that order."""
    broker, topics = await _broker(settings)
    return [broker, _topic(settings.topic, topics), data_dir(Path(settings.data_dir)),
            secrets(settings)]


async def _broker(s: CheckSettings) -> tuple[Result, dict[str, int] | None]:
    """Whether the broker answers in time; the topics it has with their partition counts."""
    admin = AIOKafkaAdminClient(bootstrap_servers=s.bootstrap,
                                request_timeout_ms=int(s.check_timeout * 1000))
    try:
        async with asyncio.timeout(s.check_timeout):
            await admin.start()
            names = await admin.list_topics()
            described = await admin.describe_topics(names) if s.topic in names else []
    except Exception as exc:  # whatever the failure, it is this check's one-line answer
        name, text = type(exc).__name__, str(exc)
        reason = ("no answer" if isinstance(exc, TimeoutError) else
                  text if text.startswith(name) else f"{name}: {text}")
        return Result(False, f"broker {s.bootstrap} unreachable within "
                             f"{s.check_timeout:g}s ({reason})"), None
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.close(), s.check_timeout)
    topics = dict.fromkeys(names, 0)
    topics.update({d["topic"]: len(d.get("partitions", [])) for d in described})
    return Result(True, f"broker {s.bootstrap} reachable ({len(names)} topic(s))"), topics


def _topic(topic: str, topics: dict[str, int] | None) -> Result:
    if topics is None:
        return Result(False, f"topic {topic} not checked: the broker is unreachable")
    if topic not in topics:
        return Result(False, f"topic {topic} missing (create it, or let the consumer create "
                             "it with --partitions)")
    return Result(True, f"topic {topic} present ({topics[topic]} partitions)")


def data_dir(path: Path) -> Result:
    """Writable: a file can be created in it, or, if it does not exist yet, it can be made."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return Result(False, f"data dir {path} is not writable: {existing} is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".learnstream-check-"):
            pass
    except OSError as exc:
        return Result(False, f"data dir {path} is not writable: {exc.strerror} ({existing})")
    made = "" if existing == path else f" (will be created under {existing})"
    return Result(True, f"data dir {path} writable{made}")


def secrets(settings: CheckSettings) -> Result:
    """Both proofs of origin are configured (the receiver refuses to start otherwise)."""
    eduzz = [x for x in settings.eduzz_secrets.split(",") if x.strip()]
    missing = [var for var, ok in (("LEARNSTREAM_EDUZZ_SECRETS", eduzz),
                                   ("LEARNSTREAM_TOOLZZ_TOKEN", settings.toolzz_token.strip()))
               if not ok]
    if missing:
        return Result(False, f"secrets not configured: set {' and '.join(missing)}")
    return Result(True, f"secrets configured ({len(eduzz)} Eduzz secret(s), Toolzz token)")
