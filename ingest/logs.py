"""Logging set-up of every command: text for people, one JSON object per line for log
shippers.

The receiver's and the consumer's lines are part of what an operator sees, so both come
from here: the consumer imports this module (ingest never imports the consumer).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

KAFKA_NOISE_INTERVAL = 10.0
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """time (ISO-8601 UTC), level, logger, message, the `extra=` fields, and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object, no newline inside it."""
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        out.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(out, enc_hook=str).decode()


class KafkaNoise(logging.Filter):
    """aiokafka's warnings and errors, at most one line per interval, with how many more there
    were: while the broker is down it logs about ten a second, with tracebacks. Our own
    lines (broker unreachable, not ready) say what matters; this keeps aiokafka's detail."""

    def __init__(self, interval: float = KAFKA_NOISE_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._interval, self._clock = interval, clock
        self._shown_at = -interval
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every other logger's record; one aiokafka record per interval, as one line."""
        if not record.name.startswith("aiokafka") or record.levelno < logging.WARNING:
            return True
        now = self._clock()
        if now - self._shown_at < self._interval:
            self._held += 1
            return False
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:  # one line, not a traceback
            exc = record.exc_info[1]
            message += f" ({type(exc).__name__}: {exc})"
            record.exc_info, record.exc_text = None, None
        if self._held:
            message += (f" [and {self._held} more aiokafka warnings/errors in the last "
                        f"{now - self._shown_at:.0f}s]")
        record.msg, record.args = message, None
        self._shown_at, self._held = now, 0
        return True


def setup(level: str, fmt: str = "text") -> None:
    """Log to stderr at `level` as `fmt` ("text" or "json"); stdout stays for command output."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(KafkaNoise())
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # aiokafka narrates connection churn and rebalances at INFO; our own lines say what matters.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
