"""The DuckDB store: the only package that imports duckdb.

`db` writes (one owner, one transaction per batch), `dedupe` finds what a batch repeats,
`state` folds new learning events into the current-state tables, `schema` applies sql/,
`read` opens a file nobody is writing (the published snapshot, or a stopped consumer's file).
"""

from consumer.store.db import Error, Rowtuple, Store
from consumer.store.read import ExportFormat, ReadOnly, one_line, read
from consumer.store.schema import apply_schema, schema_files

__all__ = ["Error", "ExportFormat", "ReadOnly", "Rowtuple", "Store", "apply_schema",
           "one_line", "read", "schema_files"]
