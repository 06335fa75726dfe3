"""Free space in the data dir: a full disk stops the store, and a snapshot needs room for a
whole copy of it, so the consumer's metrics, its log and `learnstream check` all say how
much is left (README "Configuration": LEARNSTREAM_FREE_SPACE_WARNING)."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
         "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def size_bytes(size: str) -> int:
    """Bytes of a size in DuckDB's syntax, as the settings' MEMORY pattern accepts it
    (KB = 1000, KiB = 1024)."""
    number, unit = re.split(r"\s*(?=[A-Za-z])", size.strip(), maxsplit=1)
    return int(float(number) * UNITS[unit])


def free_bytes(path: str | Path) -> float:
    """Free bytes (for this user) on the file system of `path`, or of its nearest existing
    parent; NaN when it cannot be read."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        return float(shutil.disk_usage(existing).free)
    except OSError:
        return math.nan


def low_space(path: str | Path, warn_below: int) -> str | None:
    """A one-line warning when `path` has less than `warn_below` bytes free, else None."""
    free = free_bytes(path)
    if math.isnan(free) or free >= warn_below:
        return None
    return (f"data dir {path} has {free / 1e6:.1f} MB free, below the "
            f"{warn_below / 1e6:.0f} MB warning threshold (LEARNSTREAM_FREE_SPACE_WARNING): "
            "a full disk stops the store; a snapshot needs room for a copy of it")
