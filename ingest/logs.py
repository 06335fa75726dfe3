"""Logging set-up of every command: text for people, one JSON object per line for log
shippers.

The receiver's and the consumer's lines are part of what an operator sees, so both come
from here: the consumer imports this module (ingest never imports the consumer).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec

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


def setup(level: str, fmt: str = "text") -> None:
    """Log to stderr at `level` as `fmt` ("text" or "json"); stdout stays for command output."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # aiokafka narrates connection churn and rebalances at INFO; our own lines say what matters.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
