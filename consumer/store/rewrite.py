"""A clean copy of the store file: what it holds now and nothing it once held.

DuckDB marks deleted rows and reuses their blocks later, so a deleted value stays in the
file's bytes until the file is rewritten (measured: an e-mail deleted and checkpointed is
still in the file; in a copy of the rows into a new file it is not). The copy gets the schema
from sql/ first (constraints, comments, views, macros exactly as a fresh store has them),
then the rows.

Measured at 10M events (README "Performance", Erasure): `COPY FROM DATABASE` copies one table
after another on one core, and loading raw_events into a table that already has its primary
key inserts 10M strings into the index one by one (30 s of the 100). So the rows are copied
table by table, the largest first, on two connections at once (each copy is mostly one core),
and raw_events gets its key after its rows, built in one pass (7 s, plus 6 s for the rows).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from consumer.store.schema import apply_schema

CLEAN = "learnstream_clean"
# Large tables whose primary key is added after their rows (a one-column key each).
LATE_KEYS = ("raw_events",)
WORKERS = 2  # the copies run side by side; each is mostly single-threaded in DuckDB


def copy_clean(con: duckdb.DuckDBPyConnection, path: str, storage_version: str) -> str:
    """Write every row of the database open on `con` (the file `path`) to `<path>.clean`, in
    `storage_version`'s format (the store's own); that file's path. Run it between
    transactions, with nothing writing: the copy is of committed data, read by several
    connections."""
    fresh = path + ".clean"
    for leftover in (fresh, fresh + ".wal"):  # from a copy a crash interrupted
        Path(leftover).unlink(missing_ok=True)
    (source,) = con.execute("select current_database()").fetchone() or ("",)
    con.execute(f"attach $1 as {CLEAN} (storage_version '{storage_version}')", [fresh])
    try:
        con.execute(f"use {CLEAN}")
        try:
            apply_schema(con)
            keys = {table: _drop_key(con, table) for table in LATE_KEYS}
        finally:
            con.execute(f'use "{source}"')
        _copy_rows(con, source, keys)
        con.execute(f"checkpoint {CLEAN}")  # the copy alone is then complete
    finally:
        con.execute(f"detach {CLEAN}")
    if Path(fresh + ".wal").exists():  # it would not follow the file when swapped in
        raise RuntimeError(f"the clean copy {fresh} kept a WAL; not swapped in")
    return fresh


def _drop_key(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Recreate the empty `table` of the current database as it is but without its one-column
    primary key (the key column stays NOT NULL; comments are kept); the key column."""
    (key,) = con.execute(
        "select unnest(constraint_column_names) from duckdb_constraints() where database_name "
        "= current_database() and table_name = $1 and constraint_type = 'PRIMARY KEY'",
        [table]).fetchone() or ("",)
    columns = con.execute(
        "select column_name, data_type, column_default, is_nullable, comment "
        "from duckdb_columns() where database_name = current_database() and table_name = $1 "
        "order by column_index", [table]).fetchall()
    (comment,) = con.execute("select comment from duckdb_tables() where database_name = "
                             "current_database() and table_name = $1", [table]).fetchone() or ("",)
    con.execute(f"drop table {table}")
    con.execute(f"create table {table} (" + ", ".join(
        f'"{name}" {kind}' + (f" default {default}" if default is not None else "")
        + ("" if nullable else " not null")
        for name, kind, default, nullable, _ in columns) + ")")
    for name, _, _, _, text in columns:
        if text:
            con.execute(f'comment on column {table}."{name}" is $1', [text])
    if comment:
        con.execute(f"comment on table {table} is $1", [comment])
    return str(key)


def _copy_rows(con: duckdb.DuckDBPyConnection, source: str, keys: dict[str, str]) -> None:
    """Copy every table's rows from `source` to the clean database, the largest first, on
    WORKERS connections, each table's late key after its rows. The first error is raised."""
    tables = [t for (t,) in con.execute(
        "select table_name from duckdb_tables() where database_name = $1 and not temporary "
        "order by estimated_size desc, table_name", [source]).fetchall()]
    with ThreadPoolExecutor(WORKERS) as pool:
        for done in [pool.submit(_copy_table, con, source, t, keys.get(t)) for t in tables]:
            done.result()


def _copy_table(con: duckdb.DuckDBPyConnection, source: str, table: str,
                key: str | None) -> None:
    with con.cursor() as cursor:  # a connection of its own: one per thread
        cursor.execute(f'insert into {CLEAN}.main."{table}" by name '
                       f'select * from "{source}".main."{table}"')
        if key:
            cursor.execute(f'alter table {CLEAN}.main."{table}" add primary key ("{key}")')
