"""The reading side: queries on a store file nobody is writing, opened read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

Rowtuple = tuple[Any, ...]


def read(path: str | Path, sql: str) -> tuple[list[str], list[Rowtuple]]:
    """Run one query on a closed store file, opened read-only; (column names, rows)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()
