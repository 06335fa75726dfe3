"""DuckDB's errors as the consumer reports them: one line, and what to do about them."""

from __future__ import annotations

import errno
import shutil

import duckdb

Error = duckdb.Error  # what a failed write raises, for callers that must not import duckdb


def one_line(exc: BaseException) -> str:
    """DuckDB's message without the echoed statement and caret lines that follow it."""
    head = str(exc).split("\n\n", 1)[0]
    return " ".join(line.strip() for line in head.splitlines() if line.strip())


def is_fatal(exc: BaseException) -> bool:
    """A DuckDB error after which the database refuses every statement until reopened."""
    return isinstance(exc, duckdb.FatalException) or "database has been invalidated" in str(exc)


def out_of_space(exc: BaseException) -> bool:
    """The disk (or quota) is full: nothing to fix in the data, only room to make."""
    return (getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT)
            or "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc))


def remedy(exc: BaseException, data_dir: str) -> str:
    """What the operator can do, for the errors that have a known remedy; else ""."""
    if not out_of_space(exc):
        return ""
    try:
        free = f"{shutil.disk_usage(data_dir).free / 1e6:.1f} MB free now"
    except OSError:
        free = "free space unknown"
    return (f"the data dir {data_dir} is full ({free}): free space there, then restart; "
            "nothing is lost (the offsets stored with the rows resume the consumer)")


def explain(exc: BaseException, data_dir: str) -> str:
    """One line: DuckDB's message, and the remedy when there is a known one."""
    return "; ".join(filter(None, (one_line(exc), remedy(exc, data_dir))))
