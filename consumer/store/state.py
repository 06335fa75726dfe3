"""Folding new learning and commerce rows into the current-state tables (sql/state/).

Grouping every event by learner and lesson takes over a second at 10M events, and folding
each batch into the state tables would rescan them per batch. So the store numbers the
learning and commerce rows it writes (`stored_seq`, one sequence); the rows from
`fold_since()` (learning) and `commerce_fold_since()` (commerce) on are pending, the state
macros merge them in at read time, and a fold writes the merged rows back and moves
`fold_mark` past them: before a snapshot is copied (consumer/snapshot.py), every `FOLD_AT`
rows and at close. Views read the same answer either way. A pending row costs the writer
nothing but its number (a copy of each row into a pending table cost 27% of the store's
write rate, measured).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from typing import Any, NamedTuple

import duckdb

from consumer.store.schema import schema_files

log = logging.getLogger(__name__)

# Pending rows that trigger a fold with the batch that reaches them. Readers read the
# snapshot, which folds first (consumer/snapshot.py), so this only bounds the writer's own
# pending rows between snapshots (snapshots off or far apart). A fold's cost is mostly
# fixed, passes over the folded tables: at 10M events 1.9-3.0 s CPU for 5,000 pending
# events, 3.1-3.2 s for 50,000 (README, Performance), so folding less often makes it
# cheaper per row.
FOLD_AT = 500_000

GRAIN = re.compile(r"^-- grain: (.+)$", re.MULTILINE)
FOLDS = re.compile(r"^-- folds: (\w+)$", re.MULTILINE)
ERASED = re.compile(r"^-- erased by: (\w+)$", re.MULTILINE)
SCOPED = "\n-- a fold reads the pending learners' rows only\n"
TOUCHED = "create or replace macro {}_touched("
# A state whose macro reads, in a fold, the rows of learners beyond those with pending
# learning rows defines `<name>_learners(since)` (their learner_key): a fold adds them to
# the learners of the scoped copies (State.scoped), instead of setting a copy aside.
LEARNERS = "create or replace macro {}_learners("
# The tables whose rows are numbered and folded, and where each one's pending rows start.
SINCE = {"learning_events": "fold_since()", "commerce_events": "commerce_fold_since()"}
EVERYTHING = -2**63  # a `since` before every row: refold from scratch

# The rowid of the folded row a staged row replaces: a column of a state macro's rows (the
# folded row merged; null: none), numbering the scoped copy where the table is scoped.
# Deleting by rowid skips the scan of the folded table that a delete joined on the key
# needs (at 10M, 3.3-3.4M rows of lesson state, learner days and funnel days, 0.15 CPU s
# each per fold).
ROWID = "folded_rowid"
# The rowid in its folded table of a row of a scoped copy (the copy's own rowid, which the
# macros' `rowid` gives, numbers the copy).
SCOPED_ROWID = "scoped_rowid"


class State(NamedTuple):
    """One file of sql/state/ that declares a grain: `<name>_folded` and `<name>`."""

    table: str  # the folded table
    macro: str  # merges the pending rows into it: `<macro>(since)`
    key: tuple[str, ...]  # its grain
    folds: str  # the table whose rows it folds (`-- folds:`, learning_events by default)
    # Which of its rows an erasure refolds (`-- erased by:`, consumer/store/erase.py SCOPES):
    # by default the touched learners' rows, or invoices' for a state of commerce rows.
    erased_by: str
    read_by_others: bool  # another state's file calls its macro (course_state: lesson_state)
    # What a fold reads: `<macro>_touched(since)` where the file defines one (its rows are
    # `<macro>(since)`'s but those of keys no pending row touches, which are the folded rows
    # as they are, unfolded false), so a fold does not read the untouched rows to drop them;
    # else `<macro>(since)`. `where unfolded` picks the same rows from either, any `since`.
    reads: str
    # Every macro a fold stages reads of its folded table only the rows of learners with
    # pending learning events (`-- a fold reads the pending learners' rows only`): a fold
    # copies those rows once into a temp table of its name, which the macros then read
    # instead of the whole table (a temp table shadows a table, as in erase.py), with each
    # row's rowid in the folded table (SCOPED_ROWID), by which the write-back deletes the
    # rows it replaces.
    scoped: bool = False
    # Its macro gives each row the rowid of the folded row it replaces (its file defines
    # `... as folded_rowid`): the write-back deletes by those instead of joining the key.
    rowids: bool = False
    learners: bool = False  # its file defines `<name>_learners(since)` (LEARNERS)


def states() -> list[State]:
    """Every state, in file order."""
    found = []
    files = [(path, text) for path, text in schema_files() if path.startswith("state/")]
    for path, text in files:
        if grain := GRAIN.search(text):
            name = path.split("/")[1][3:-4]
            folds = m.group(1) if (m := FOLDS.search(text)) else "learning_events"
            erased = ERASED.search(text)
            found.append(State(f"{name}_folded", name,
                               tuple(c.strip() for c in grain.group(1).split(",")), folds,
                               erased.group(1) if erased else
                               "invoices" if folds == "commerce_events" else "learners",
                               any(re.search(rf"\b{name}\(", other)
                                   for p, other in files if p != path),
                               f"{name}_touched" if TOUCHED.format(name) in text else name,
                               SCOPED in text, f" as {ROWID}" in text,
                               LEARNERS.format(name) in text))
    return found


# Read once: course_state reads lesson_state and module_state, so every state is staged
# (in file order) before any table is written.
STATES = states()
# Macro-only columns: ROWID, and SCOPED_ROWID (a macro's `f.*` of a scoped copy passes it on).
EXTRA = ("columns(lambda c: c not in "
         f"('unfolded', 'completion_change', '{ROWID}', '{SCOPED_ROWID}'))")
UNCHANGED = {"unfolded": "false", "completion_change": "0"}  # theirs on a row left alone


def fold(con: duckdb.DuckDBPyConnection, everything: bool = False,
         stages: dict[str, list[float]] | None = None) -> None:
    """Merge the rows not folded yet (or, `everything`, all rows) into the state tables and
    move fold_mark past them. Run it inside the caller's transaction: a failure leaves both
    as they were. `stages`, if given, gets [wall, CPU] seconds of each state's staging and
    writing (tests/bench/fold.py)."""
    started = time.perf_counter()
    clock = _Clock(stages)
    since = {table: EVERYTHING if everything else _one(con, f"select {expr}")[0]
             for table, expr in SINCE.items()}
    counted = {table: _one(con, f"select count(*), max(stored_seq) from {table} "
                                "where stored_seq >= $1", [since[table]])
               for table in SINCE}
    shadowed = []
    # The scoped states' folded tables, each as its rows of the learners with pending
    # learning rows (State.scoped), read once instead of once per macro (at 10M, 50,000
    # pending rows touch 30k of 200k learners, 0.55M of the 3.4M learner days); kept
    # through the writes below, which name the tables themselves. The learners are found
    # once for every copy. (By the hash of the key instead of the string: 0.25 against
    # 0.23 s CPU for lesson state's copy at 10M in one sitting, 0.23 against 0.30 in
    # another: noise, so the exact string.)
    scoped = set() if everything else {s.table for s in STATES if s.scoped}
    if scoped:
        more = "".join(f" union select learner_key from {s.macro}_learners("
                       f"{int(since[s.folds])})" for s in STATES if s.learners)
        con.execute("create or replace temp table _fold_learners as select distinct "
                    "learner_key from learning_events where stored_seq >= $1 "
                    f"and learner_key is not null{more}", [since["learning_events"]])
    pending = "where learner_key in (select learner_key from temp.main._fold_learners)"
    (db,) = _one(con, "select current_database()")
    clock.lap("scope")
    try:
        with ExitStack() as copies:
            for table in sorted(scoped):
                copies.enter_context(_shadows(con, {table: (f"*, rowid as {SCOPED_ROWID}",
                                                            pending)}))
                clock.lap(f"scope {table}")
            try:
                for state in STATES:
                    con.execute(f"create or replace temp table _fold_{state.table} as "
                                f"select * from {state.reads}($1) where unfolded",
                                [since[state.folds]])
                    if state.read_by_others and not everything:
                        _shadow(con, state, since[state.folds])
                        shadowed.append(state.macro)
                    clock.lap(f"stage {state.macro}")
            finally:
                for macro in shadowed:  # an error in staging propagates, not these drops
                    with suppress(duckdb.Error):
                        con.execute(f"drop macro table temp.main.{macro}")
            for state in STATES:
                _write(con, state, f'"{db}".main.{state.table}', state.table in scoped,
                       everything)
                clock.lap(f"write {state.macro}")
    finally:
        with suppress(duckdb.Error):
            con.execute("drop table if exists temp.main._fold_learners")
    # One sequence numbers both tables: both marks move past the last row folded of either,
    # never back (the first fold of a store made before invoice_state folds its commerce
    # rows, numbered 0, and leaves the learning mark where it was).
    last = max((m for _, m in counted.values() if m is not None), default=None)
    if last is not None:
        con.execute("insert or replace into fold_mark (next_seq, commerce_next_seq) values "
                    "(greatest($1, fold_since()), greatest($1, fold_since()))", [last + 1])
    log.info("folded %d learning and %d commerce rows into the current state in %.2f s",
             *(counted[t][0] for t in SINCE), time.perf_counter() - started)


def _write(con: duckdb.DuckDBPyConnection, state: State, table: str, scoped: bool,
           everything: bool) -> None:
    """Replace the rows of `table` (state's folded table) that its staged rows replace."""
    # `is not distinct from`: a lesson's course_key may be null, and null is a key.
    match = " and ".join(f"f.{k} is not distinct from n.{k}" for k in state.key)
    staged, copy = f"_fold_{state.table}", f"temp.main.{state.table}"
    if scoped and state.rowids:  # the macro's rowids number the scoped copy: mapped back
        con.execute(f"delete from {table} where rowid in (select {SCOPED_ROWID} from {copy} "
                    f"where rowid in (select {ROWID} from {staged}))")
    elif scoped:  # the staged rows are of pending learners: in the copy
        con.execute(f"delete from {table} where rowid in (select f.{SCOPED_ROWID} "
                    f"from {copy} f semi join {staged} n on {match})")
    elif state.rowids and not everything:  # a refold emptied the tables first
        con.execute(f"delete from {table} where rowid in (select {ROWID} from {staged})")
    else:
        con.execute(f"delete from {table} f using {staged} n where {match}")
    con.execute(f"insert into {table} by name select {EXTRA} from {staged}{_order(state)}")
    con.execute(f"drop table {staged}")


def _order(state: State) -> str:
    """How a fold inserts `state`'s rows: grouped by learner when its grain starts with the
    learner, so each fold's rows of a learner sit together (`cluster`). By the learner's
    hash, not the key: it groups the same, and sorting 500k staged rows by it cost 0.13-0.20
    s against 0.30-0.39 by the grain's strings (README, Performance)."""
    return " order by hash(learner_key)" if state.key[0] == "learner_key" else ""


def cluster(con: duckdb.DuckDBPyConnection) -> None:
    """Group the rows of the folded tables of learners by learner, once, in a store whose
    folds wrote them ungrouped (fold_mark.learner_order false; a fold inserts them grouped
    since). Ungrouped, a learner's rows are spread over the whole table, every segment holds
    thousands of learners and the learner column is stored FSST-compressed; a fold's copy
    of the pending learners' rows (State.scoped) then decodes all of it. Grouped, it is
    stored by dictionary (learner days at 10M: 29 segments instead of 134) and the copy of
    15,000 learners' rows costs a third to a half (README, Performance). Answers do not
    depend on it."""
    if (_one(con, "select learner_order from fold_mark") or (True,))[0]:
        return  # grouped, or nothing folded yet (the first fold inserts grouped)
    for state in STATES:
        if order := _order(state):
            con.execute(f"create temp table _cluster as select * from {state.table}{order}")
            con.execute(f"delete from {state.table}")
            con.execute(f"insert into {state.table} select * from temp.main._cluster")
            con.execute("drop table temp.main._cluster")
    con.execute("update fold_mark set learner_order = true")


def _shadow(con: duckdb.DuckDBPyConnection, state: State, since: int) -> None:
    """Until dropped, `state`'s macro called with `since` (the later states' macros call it
    so, most with `where unfolded`: course_state reads lesson_state's changed rows) reads its
    staged rows instead of merging the pending rows again: a temp macro shadows the one of
    that name, as erase.py's temp tables shadow tables. The same rows as the macro's: the
    staged ones, and the folded rows no pending row touched, as they are (a filter on
    `unfolded` prunes those unread). Not in a refold, where purchase_rows calls course_state
    with a `since` of its own."""
    staged = f"_fold_{state.table}"
    cols = {c for (c,) in con.execute(
        "select column_name from duckdb_columns() where table_name = $1 "
        "and database_name = 'temp'",
        [staged]).fetchall()}
    unchanged = ", ".join(f"{value} as {c}" for c, value in UNCHANGED.items() if c in cols)
    match = " and ".join(f"f.{k} is not distinct from n.{k}" for k in state.key)
    # Another `since` would need the macro itself, which a temp macro of its name hides: fail.
    guard = f"error('{state.macro} shadowed for {since} only')"
    con.execute(f"""create or replace temp macro {state.macro}(since) as table
        select * from {staged} where since = {since} or {guard}
        union all by name
        select f.*, {unchanged} from {state.table} f
        where not exists (select 1 from {staged} n where {match})
          and (since = {since} or {guard})""")


def refold(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the folded state from every learning and commerce row (after they were
    rewritten, or loaded without the Store)."""
    for state in STATES:
        con.execute(f"delete from {state.table}")
    # No mark: every row is pending, so views that follow fold_since() itself (the learner
    # days that engagement_changes reads) see all of them too.
    con.execute("delete from fold_mark")
    fold(con, everything=True)


def fill_new(con: duckdb.DuckDBPyConnection) -> None:
    """Fill the state tables a newer version added to a store that has folded rows (they are
    created empty on open): each from every row, as `refold` would, the others untouched.
    Staged from scratch (every folded table hidden), so each macro computes as in a refold:
    seeing the others' folded rows made funnel_pairs join all 3.4M folded funnel days at
    10M events, past the consumer's 1 GB memory limit, where a refold's stays within it."""
    if _one(con, "select count(*) from fold_mark")[0] == 0:
        return  # nothing folded yet: every row is pending, merged at read time
    empty = [s for s in STATES if _one(con, f"select count(*) from {s.table}")[0] == 0]
    with from_scratch(con):
        for state in empty:
            con.execute(f"create or replace temp table _fill_{state.table} as "
                        f"select * from {state.reads}($1) where unfolded", [EVERYTHING])
    for state in empty:
        con.execute(f"insert into {state.table} by name select {EXTRA} "
                    f"from _fill_{state.table}{_order(state)}")
        con.execute(f"drop table _fill_{state.table}")


def from_scratch(con: duckdb.DuckDBPyConnection, source: str = "", where: str = "",
                 columns: str = "*") -> AbstractContextManager[None]:
    """While open, a state macro called with EVERYTHING computes as in a refold, whatever is
    folded: every folded table is shadowed by an empty one, and `source` (a table whose rows
    are folded), if given, by its `columns` where `where` (erase.py: the touched people's
    rows alone)."""
    tables = {source: (columns, f"where {where}")} if source else {}
    return _shadows(con, tables | {s.table: ("*", "limit 0") for s in STATES})


@contextmanager
def _shadows(con: duckdb.DuckDBPyConnection,
             tables: dict[str, tuple[str, str]]) -> Iterator[None]:
    """Until exit, each of `tables` is shadowed by a temp table of its (columns, rows: a
    clause after `from` it): the state macros read tables by name, and a temp table
    shadows a table of that name. The shadows are dropped on the way out."""
    (db,) = _one(con, "select current_database()")
    made = []
    try:
        for table, (columns, rows) in tables.items():
            con.execute(f'create temp table {table} as select {columns} '
                        f'from "{db}".main.{table} {rows}')
            made.append(table)
        yield
    finally:
        for table in made:  # an error inside propagates, not one of these drops
            with suppress(duckdb.Error):
                con.execute(f"drop table temp.main.{table}")


def positions(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(the next stored_seq to give, rows not folded yet)."""
    last, pending = _one(con, f"""select greatest(
        (select coalesce(max(stored_seq), -1) from learning_events),
        (select coalesce(max(stored_seq), -1) from commerce_events)),
        (select count(*) from learning_events where stored_seq >= {SINCE["learning_events"]})
        + (select count(*) from commerce_events where stored_seq >= {SINCE["commerce_events"]})
        """)
    return int(last) + 1, int(pending)


class _Clock:
    """Laps of wall and process CPU seconds into `stages` (summed by name), or nothing."""

    def __init__(self, stages: dict[str, list[float]] | None) -> None:
        self.stages, self.last = stages, (time.perf_counter(), time.process_time())

    def lap(self, name: str) -> None:
        if self.stages is not None:
            now = (time.perf_counter(), time.process_time())
            lap = self.stages.setdefault(name, [0.0, 0.0])
            lap[0] += now[0] - self.last[0]
            lap[1] += now[1] - self.last[1]
            self.last = now


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> Any:
    """The one row of an aggregate query."""
    return con.execute(sql, params or []).fetchone()
