"""The DuckDB store: the only package that imports duckdb.

`db` writes (one owner, one transaction per batch), `dedupe` finds what a batch repeats,
`state` folds new learning events into the current-state tables, `schema` applies sql/,
`offsets` keeps where the consumer stands, `errors` says what DuckDB's errors mean,
`read` opens a file nobody is writing (the published snapshot, or a stopped consumer's file).
"""

from consumer.store.db import Rowtuple, Store
from consumer.store.errors import Error, explain, is_fatal, one_line, out_of_space, remedy
from consumer.store.read import ExportFormat, ReadOnly, read
from consumer.store.schema import apply_schema, schema_files

__all__ = ["Error", "ExportFormat", "ReadOnly", "Rowtuple", "Store", "apply_schema",
           "explain", "is_fatal", "one_line", "out_of_space", "read", "remedy", "schema_files"]
