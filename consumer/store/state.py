"""Folding new learning events into the current-state tables (sql/41-44, 50-52, 57).

Grouping every event by learner and lesson takes over a second at 10M events, and folding
each batch into the state tables would rescan them per batch. So new events wait in
`learning_pending` (a copy appended with each batch), the state macros merge them in at read
time, and a fold writes the merged rows back and empties `learning_pending`: every
`FOLD_AT` rows, before a snapshot and at close. Views read the same answer either way.
"""

from __future__ import annotations

import logging
import time

import duckdb

log = logging.getLogger(__name__)

FOLD_AT = 100_000  # pending rows that trigger a fold: about 0.5 s per fold at 10M events

# (folded table, macro merging new events into it, key columns). course_state reads
# lesson_state and module_state, so all three are staged before any table is written.
STATES = (
    ("lesson_state_folded", "lesson_state", ("learner_key", "course_key", "lesson_key")),
    ("module_state_folded", "module_state", ("learner_key", "course_key", "module_key")),
    ("course_state_folded", "course_state", ("learner_key", "course_key")),
    ("lesson_catalogue_folded", "lesson_catalogue", ("course_key", "lesson_key")),
)
EXTRA = "columns(lambda c: c not in ('unfolded', 'completion_change'))"  # macro-only columns


def fold(con: duckdb.DuckDBPyConnection, source: str = "learning_pending") -> None:
    """Merge the events of table `source` into the folded state tables and empty
    learning_pending. Run it inside the caller's transaction: a failure leaves both as they
    were."""
    started, rows = time.perf_counter(), count(con, source)
    for table, macro, _ in STATES:
        con.execute(f"create or replace temp table _fold_{table} as "
                    f"select * from {macro}('{source}') where unfolded")
    for table, _, key in STATES:
        # `is not distinct from`: a lesson's course_key may be null, and null is a key too.
        match = " and ".join(f"f.{k} is not distinct from n.{k}" for k in key)
        con.execute(f"delete from {table} f using _fold_{table} n where {match}")
        con.execute(f"insert into {table} by name select {EXTRA} from _fold_{table}")
        con.execute(f"drop table _fold_{table}")
    con.execute("delete from learning_pending")
    log.info("folded %d learning rows into the current state in %.2f s", rows,
             time.perf_counter() - started)


def refold(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the folded state from every row of learning_events (after they were
    rewritten, or loaded without the Store)."""
    for table, _, _ in STATES:
        con.execute(f"delete from {table}")
    fold(con, "learning_events")


def count(con: duckdb.DuckDBPyConnection, table: str = "learning_pending") -> int:
    """Rows of `table` (by default: those waiting to be folded)."""
    row = con.execute(f"select count(*) from {table}").fetchone()
    return int(row[0]) if row else 0
