"""`--log-format json`: one JSON object per line, from ingest.logs, which the receiver and the
consumer-side commands both set up."""

from __future__ import annotations

import json
import logging
import sys

from ingest import logs as ingest_logs


def record(**extra: object) -> logging.LogRecord:
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    rec = logging.LogRecord("consumer.worker", logging.INFO, __file__, 1,
                            "batch: %d messages", (3,), exc_info)
    rec.created = 1_700_000_000.25
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_json_lines_carry_time_level_logger_message_extras_and_exception():
    line = ingest_logs.JsonFormatter().format(record(messages=3, dead_letters=0, path=object()))
    assert "\n" not in line
    out = json.loads(line)
    assert {k: out[k] for k in ("time", "level", "logger", "message", "messages",
                                "dead_letters")} == {
        "time": "2023-11-14T22:13:20.250Z", "level": "INFO", "logger": "consumer.worker",
        "message": "batch: 3 messages", "messages": 3, "dead_letters": 0}
    assert out["path"].startswith("<object object")  # not JSON-able: written as text
    assert out["exception"].startswith("Traceback") and "ValueError: boom" in out["exception"]
