"""Who owns the store file: an exclusive `flock` on `<file>.owner`, held for the Store's life.

DuckDB's own lock is a POSIX record lock, lost whenever the process closes any descriptor of
the file, and released for a moment whenever the owner closes and reopens its connection (as
a rewrite of the file does). This lock is on another file, belongs to the open file
description, and lasts until the Store closes: another learnstream process that wants the
store (a second consumer, `rebuild`, a command applying its own request) is refused at once,
and a command can ask cheaply whether a consumer is running (`held`).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class InUse(RuntimeError):
    """Another process owns the store."""


def owner_path(db_path: str | Path) -> Path:
    """The lock file beside the store."""
    return Path(str(db_path) + ".owner")


def take(db_path: str | Path, wait: float = 0.0) -> int:
    """Lock the store for this process; the descriptor to `release`. InUse when another
    process still holds it after `wait` seconds (a command's `held` probe holds it for
    microseconds: an owner retries past it)."""
    fd = os.open(owner_path(db_path), os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise InUse(f"{db_path} is in use by a running consumer") from None
            time.sleep(0.01)


def release(fd: int) -> int:
    """Give the store up (closing the descriptor drops the flock); -1, no descriptor."""
    os.close(fd)
    return -1


def held(db_path: str | Path) -> bool:
    """Whether another process owns the store right now."""
    if not owner_path(db_path).exists():
        return False
    try:
        release(take(db_path))
    except InUse:
        return True
    return False
