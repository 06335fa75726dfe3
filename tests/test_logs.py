"""`--log-format json`: one JSON object per line, from ingest.logs, which the receiver and the
consumer-side commands both set up."""

from __future__ import annotations

import io
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


def test_aiokafka_noise_is_one_line_per_interval_with_a_count():
    """A broker outage: aiokafka logs about ten errors a second, each with a traceback."""
    now = [100.0]
    noise = ingest_logs.KafkaNoise(interval=10.0, clock=lambda: now[0])
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter(ingest_logs.TEXT_FORMAT))
    handler.addFilter(noise)

    def aiokafka_error(i: int) -> logging.LogRecord:
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except ConnectionRefusedError:
            exc_info = sys.exc_info()
        return logging.LogRecord("aiokafka.consumer.group_coordinator", logging.ERROR,
                                 __file__, 1, "Error sending request %d", (i,), exc_info)

    for i in range(100):  # ten seconds of outage
        handler.handle(aiokafka_error(i))
        handler.handle(logging.LogRecord("consumer.worker", logging.INFO, __file__, 1,
                                         "ours %d", (i,), None))
        now[0] += 0.099
    now[0] += 0.2
    handler.handle(aiokafka_error(100))
    lines = handler.stream.getvalue().splitlines()
    theirs = [line for line in lines if "aiokafka" in line]
    assert len(theirs) == 2, theirs  # the first at once, then one summary per interval
    assert len(lines) - len(theirs) == 100  # our own lines untouched
    assert theirs[0].endswith("Error sending request 0 (ConnectionRefusedError: [Errno 111] "
                              "Connect call failed)")
    assert theirs[1].endswith("Error sending request 100 (ConnectionRefusedError: [Errno 111] "
                              "Connect call failed) [and 99 more aiokafka warnings/errors in "
                              "the last 10s]")
    assert "Traceback" not in handler.stream.getvalue()
