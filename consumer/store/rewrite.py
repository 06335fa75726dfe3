"""A clean copy of the store file: what it holds now and nothing it once held.

DuckDB marks deleted rows and reuses their blocks later, so a deleted value stays in the
file's bytes until the file is rewritten (measured: an e-mail deleted and checkpointed is
still in the file; in a `COPY FROM DATABASE` copy it is not). The copy gets the schema from
sql/ first (constraints, comments, views, macros exactly as a fresh store has them), then
the rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from consumer.store.schema import apply_schema


def copy_clean(con: duckdb.DuckDBPyConnection, path: str) -> str:
    """Write every row of the database open on `con` (the file `path`) to `<path>.clean`;
    that file's path. Run it between transactions: the copy is of committed data."""
    fresh = path + ".clean"
    for leftover in (fresh, fresh + ".wal"):  # from a copy a crash interrupted
        Path(leftover).unlink(missing_ok=True)
    (source,) = con.execute("select current_database()").fetchone() or ("",)
    con.execute("attach $1 as learnstream_clean", [fresh])
    try:
        con.execute("use learnstream_clean")
        try:
            apply_schema(con)
        finally:
            con.execute(f'use "{source}"')
        con.execute(f'copy from database "{source}" to learnstream_clean (data)')
    finally:
        con.execute("detach learnstream_clean")
    return fresh
