"""The DuckDB store: the only package that imports duckdb.

`db` writes (one owner, one transaction per batch), `schema` applies sql/, `read` opens a
file nobody is writing.
"""

from consumer.store.db import Error, Rowtuple, Store
from consumer.store.read import read
from consumer.store.schema import apply_schema, schema_files

__all__ = ["Error", "Rowtuple", "Store", "apply_schema", "read", "schema_files"]
