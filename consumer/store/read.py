"""The reading side: queries on a store file nobody is writing (the snapshot the consumer
publishes, or the file of a stopped consumer), opened read-only."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import duckdb

from consumer.store.pseudonyms import pseudonymized

Rowtuple = tuple[Any, ...]
T = TypeVar("T")
ExportFormat = Literal["parquet", "csv"]


def read(path: str | Path, sql: str) -> tuple[list[str], list[Rowtuple]]:
    """Run one query on a closed store file, opened read-only; (column names, rows)."""
    with ReadOnly(path) as db:
        return db.query(sql)


class ReadOnly:
    """A read-only connection. In one process DuckDB shares a file's instance between open
    connections, so a newer snapshot is seen only once every older connection is closed."""

    def __init__(self, path: str | Path, pseudonym_key: bytes | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():  # DuckDB's own error would not say what to do
            raise FileNotFoundError(f"no DuckDB file at {self.path}")
        # With a key: a pseudonymized copy in memory (store/pseudonyms.py) instead.
        self._con = (pseudonymized(str(self.path), pseudonym_key) if pseudonym_key
                     else duckdb.connect(str(self.path), read_only=True))

    def run(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`work(connection)`, for store modules of several statements (disclose)."""
        return work(self._con)

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
              ) -> tuple[list[str], list[Rowtuple]]:
        """Run one statement, with positional ($1) or named ($name) parameters;
        (column names, rows)."""
        cur = self._con.execute(sql, dict(params) if isinstance(params, Mapping)
                                else list(params))
        if cur is None:  # empty, or only comments: DuckDB runs nothing and returns nothing
            raise duckdb.InvalidInputException("no SQL statement to run")
        return [d[0] for d in cur.description or ()], cur.fetchall()

    def relations(self) -> list[tuple[str, str]]:
        """(name, "table" or "view") of every table and view in the file, tables first."""
        return [(name, kind) for name, kind in self._con.execute(
            """select table_name, 'table' from duckdb_tables()
               where not internal and schema_name = 'main'
               union all
               select view_name, 'view' from duckdb_views()
               where not internal and schema_name = 'main'
               order by 2, 1""").fetchall()]

    def export(self, name: str, dest: Path, fmt: ExportFormat) -> int:
        """Write table or view `name` to the file `dest` in `fmt`; the rows written."""
        options = "format parquet" if fmt == "parquet" else "format csv, header"
        quoted = '"' + name.replace('"', '""') + '"'
        target = "'" + str(dest).replace("'", "''") + "'"  # COPY takes no parameter here
        row = self._con.execute(f"copy (select * from {quoted}) to {target} ({options})"
                                ).fetchone()
        return int(row[0]) if row else 0

    def interrupt(self) -> None:
        """Stop the query running on this connection (from another thread): it raises.
        A connection its owner closed meanwhile (a newer snapshot) runs nothing to stop."""
        with suppress(duckdb.ConnectionException):
            self._con.interrupt()

    def close(self) -> None:
        """Close the connection (the file is then free of this reader)."""
        self._con.close()

    def __enter__(self) -> ReadOnly:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
