"""Folding new learning events into the current-state tables (sql/state/).

Grouping every event by learner and lesson takes over a second at 10M events, and folding
each batch into the state tables would rescan them per batch. So the store numbers the
learning rows it writes (`stored_seq`); the rows from `fold_since()` on are pending, the
state macros merge them in at read time, and a fold writes the merged rows back and moves
`fold_mark` past them: every `FOLD_AT` rows and at close. Views read the same answer either
way. A pending row costs the writer nothing but its number (a copy of each row into a
pending table cost 27% of the store's write rate, measured).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import duckdb

log = logging.getLogger(__name__)

FOLD_AT = 100_000  # pending rows that trigger a fold: 0.6-0.7 s per fold at 10M events

# (folded table, macro merging new events into it, key columns). course_state reads
# lesson_state and module_state, so all three are staged before any table is written.
STATES = (
    ("lesson_state_folded", "lesson_state", ("learner_key", "course_key", "lesson_key")),
    ("module_state_folded", "module_state", ("learner_key", "course_key", "module_key")),
    ("course_state_folded", "course_state", ("learner_key", "course_key")),
    ("lesson_catalogue_folded", "lesson_catalogue", ("course_key", "lesson_key")),
)
EXTRA = "columns(lambda c: c not in ('unfolded', 'completion_change'))"  # macro-only columns


def fold(con: duckdb.DuckDBPyConnection, since: int | None = None) -> None:
    """Merge the learning rows stored from `since` on (by default: those not folded yet)
    into the state tables and move fold_mark past them. Run it inside the caller's
    transaction: a failure leaves both as they were."""
    started = time.perf_counter()
    if since is None:
        (since,) = _one(con, "select fold_since()")
    rows, last = _one(con, "select count(*), max(stored_seq) from learning_events "
                           "where stored_seq >= $1", [since])
    for table, macro, _ in STATES:
        con.execute(f"create or replace temp table _fold_{table} as "
                    f"select * from {macro}($1) where unfolded", [since])
    for table, _, key in STATES:
        # `is not distinct from`: a lesson's course_key may be null, and null is a key too.
        match = " and ".join(f"f.{k} is not distinct from n.{k}" for k in key)
        con.execute(f"delete from {table} f using _fold_{table} n where {match}")
        con.execute(f"insert into {table} by name select {EXTRA} from _fold_{table}")
        con.execute(f"drop table _fold_{table}")
    if last is not None:
        con.execute("insert or replace into fold_mark (next_seq) values ($1)", [last + 1])
    log.info("folded %d learning rows into the current state in %.2f s", rows,
             time.perf_counter() - started)


def refold(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the folded state from every row of learning_events (after they were
    rewritten, or loaded without the Store)."""
    for table, _, _ in STATES:
        con.execute(f"delete from {table}")
    fold(con, since=-2**63)


def positions(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(the next stored_seq to give, rows not folded yet)."""
    last, pending = _one(con, "select (select coalesce(max(stored_seq), -1) from "
                              "learning_events), (select count(*) from learning_events "
                              "where stored_seq >= fold_since())")
    return int(last) + 1, int(pending)


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> Any:
    """The one row of an aggregate query."""
    return con.execute(sql, params or []).fetchone()
