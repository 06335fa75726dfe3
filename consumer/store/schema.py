"""The schema: every file of sql/, applied in name order."""

from __future__ import annotations

from importlib import resources

import duckdb


def schema_files() -> list[tuple[str, str]]:
    """(name, SQL) of every file in sql/, in apply order."""
    files = [f for f in resources.files("sql").iterdir() if f.name.endswith(".sql")]
    return [(f.name, f.read_text(encoding="utf-8")) for f in sorted(files, key=lambda f: f.name)]


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or update every table and view; safe to run on every start."""
    for name, text in schema_files():
        try:
            con.execute(text)
        except duckdb.Error as exc:
            raise RuntimeError(f"sql/{name} failed: {exc}") from exc
