"""Erasing people from the store (README "Personal data (LGPD)"), inside one transaction.

A person is found by the typed identities the operator gives (consumer/personal.py) in the
decoded rows (learner and buyer keys, e-mails, platform ids, with the platform ids their
matched rows carry added, so an e-mail also finds the events that named them by id only),
then by e-mail and CPF in every body: raw_events, dead_letters and conflicting_deliveries.
CPFs found in their bodies are not added: a CPF field can name someone else (a buyer paying
for a participant), and a wrong CPF would erase another person's events.

An event that names them anywhere is removed whole, with every row derived from it. Their
current state is deleted; anyone else a removed event named, every lesson and every invoice
those events named, is refolded from what is left, so every view answers as if the events
had never arrived. The caller rewrites the file afterwards (Store.rewrite): deleted values stay in
DuckDB's bytes until then.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime

import duckdb

from consumer.sources.personal import CPF, keyed
from consumer.store.state import EVERYTHING, EXTRA, SINCE, STATES, from_scratch

# The identities a learning row names, as typed strings (personal.py).
LEARNING_IDS = """[case when learner_key like '%@%' then 'email:' else 'id:' end || learner_key,
                   'email:' || learner_email, 'id:' || platform || ':' || learner_id]"""
BUYER_ID = "case when buyer_key like '%@%' then 'email:' else 'id:' end || buyer_key"


def erase(con: duckdb.DuckDBPyConnection, people: Sequence[Sequence[str]], key: bytes,
          key_id: str, now: datetime) -> dict[str, int]:
    """Remove every trace of `people` (each a list of typed identities, the first naming
    them in the audit) and suppress them; rows removed per table."""
    pattern = find(con, people)
    removed = _delete(con, pattern)
    _suppress(con, people, key, key_id, now)
    con.execute("insert into erasures (erased_at, people, removed) values ($1, $2, $3)",
                [now, [keyed(key, ids[0]) for ids in people], json.dumps(removed)])
    for view in ("_who_keys", "_who_ids"):
        con.execute(f"drop view {view}")
    for table in ("_who", "_uids", "_touched", "_touched_invoices"):
        con.execute(f"drop table if exists {table}")
    return removed


def find(con: duckdb.DuckDBPyConnection, people: Sequence[Sequence[str]]) -> str | None:
    """Fill the temp tables _who (person, identity) and _uids (the events naming them);
    the pattern of their e-mails and CPFs in bodies (None: they have none)."""
    con.execute("create or replace temp table _who (person integer, identity varchar)")
    con.execute(WHO_AS_STORED)
    con.execute(WHO_IDS)
    con.execute("insert into _who select unnest($1::integer[]), unnest($2::varchar[])",
                [[n for n, ids in enumerate(people) for _ in ids],
                 [i for ids in people for i in ids]])
    for _ in range(2):  # the ids their e-mail events carry find their id-only events
        con.execute(f"""insert into _who
            with ids as (select rowid as r, unnest({LEARNING_IDS}) as i from learning_events
                         where {named('learning')})
            select distinct w.person, b.i from ids a join _who w on w.identity = a.i
            join ids b on b.r = a.r where b.i is not null
            except select * from _who""")
    identities = [i for (i,) in con.execute("select identity from _who").fetchall()]
    pattern = body_pattern(identities)
    con.execute("create or replace temp table _uids (event_uid varchar primary key)")
    con.execute(f"""insert into _uids select event_uid from learning_events
                    where {named('learning')} union
                    select event_uid from commerce_events where {named('commerce')}""")
    if pattern:
        where, args = in_bodies("body::varchar", identities, pattern)
        con.execute(f"insert or ignore into _uids select event_uid from raw_events where {where}",
                    args)
    return pattern


# _who's identities as the stored columns hold them, so a filter compares columns as they
# are (a hash lookup per row) instead of building a typed string per row of a large table.
WHO_AS_STORED = """create or replace temp view _who_keys as
    select substr(identity, 7) as v from _who where identity like 'email:%' union all
    select substr(identity, 4) from _who where identity like 'id:%'"""
WHO_IDS = """create or replace temp view _who_ids as
    select split_part(substr(identity, 4), ':', 1) as p,
           substr(identity, 5 + length(split_part(substr(identity, 4), ':', 1))) as i
    from _who where identity like 'id:%'"""


def named(table: str) -> str:
    """A filter for the rows of `table` naming an identity in _who (hash joins, no scan
    per identity). A learner or buyer key is an e-mail or `<platform>:<id>`."""
    if table == "commerce":
        return "buyer_key in (select v from _who_keys)"
    return ("(learner_key in (select v from _who_keys) or learner_email in "
            "(select v from _who_keys) or (platform, learner_id) in (select p, i from _who_ids))")


def body_pattern(identities: Sequence[str]) -> str | None:
    """An RE2 pattern matching a body that holds any of the e-mails or CPFs (in any case,
    punctuated or not), and not one that merely contains them inside a longer one."""
    mails = [re.escape(i[6:]) for i in identities if i.startswith("email:")]
    cpfs = [r"\.?".join((d[:3], d[3:6], d[6:9])) + "-?" + d[9:]
            for i in identities if i.startswith("cpf:") and CPF.fullmatch(d := i[4:])]
    parts = []
    if mails:
        parts.append(r"(?:^|[^a-z0-9._%+\-])(?:" + "|".join(mails)
                     + r")(?:$|[^a-z0-9.\-]|\.[^a-z0-9])")
    if cpfs:
        parts.append(r"(?:^|[^0-9])(?:" + "|".join(cpfs) + r")(?:$|[^0-9])")
    return "(?i)" + "|".join(parts) if parts else None


# The run of e-mail characters before each '@' of a body. body_pattern wants no such character
# before an e-mail, so a body can only hold one of theirs if one of these runs is that e-mail's
# local part: one pass of this simple pattern and a hash lookup per body pick the few bodies
# body_pattern is then run on, instead of running the alternatives of every person over every
# body (measured at 10M events and 1,000 people: README "Performance", Erasure). With (?i),
# RE2 also takes the Kelvin sign for k and the long s for s; lower() maps the first to k,
# the replace() the second to s, so a run RE2 would match is never missed.
LOCAL_PARTS = r"(?i)([a-z0-9._%+\-]+)@"
RUN = re.compile(r"[a-z0-9._%+\-]*$")


def in_bodies(text: str, identities: Sequence[str], pattern: str) -> tuple[str, list[object]]:
    """A condition on `text` (an SQL expression of the body) true when it matches `pattern`
    (body_pattern of `identities`), with its parameters: when every e-mail is ASCII, only the
    bodies with a run of LOCAL_PARTS equal to a local part, or matching a CPF, are matched
    against `pattern`."""
    # The run before the '@' of an e-mail like o'brien@x.com is its tail after the quote.
    runs = {RUN.search(i[6:].rsplit("@", 1)[0].lower()).group()  # type: ignore[union-attr]
            for i in identities if i.startswith("email:")}
    cpfs = body_pattern([i for i in identities if i.startswith("cpf:")])
    if not runs or not all(r and r.isascii() for r in runs):
        return f"regexp_matches({text}, $1)", [pattern]
    candidate = (f"list_has_any(list_transform(regexp_extract_all({text}, '{LOCAL_PARTS}', 1), "
                 "lambda x: lower(replace(x, '\u017f', 's'))), $2::varchar[])")
    if cpfs:
        candidate = f"({candidate} or regexp_matches({text}, $3))"
    return (f"{candidate} and regexp_matches({text}, $1)",
            [pattern, sorted(runs), *([cpfs] if cpfs else [])])


def _delete(con: duckdb.DuckDBPyConnection, pattern: str | None) -> dict[str, int]:
    """Delete the events in _uids and everything derived from them, the bodies matching
    `pattern`, and the people's current state; recompute the catalogue of touched lessons."""
    body = "regexp_matches(body::varchar, $1)" if pattern else "false"
    letters = "regexp_matches(decode(body), $1)" if pattern else "false"
    args = [pattern] if pattern else []
    con.execute(f"""create or replace temp table _touched as
                    select distinct learner_key, course_key, module_key, lesson_key
                    from learning_events
                    where event_uid in (select event_uid from _uids) or {named('learning')}""")
    # Invoices a removed commerce row named, and those whose refund progress or purchase
    # state counted a touched learner's learning: refolded like the learners.
    con.execute(f"""create or replace temp table _touched_invoices as
                    select invoice_id from commerce_events
                    where invoice_id is not null
                      and (event_uid in (select event_uid from _uids) or {named('commerce')})
                    union select invoice_id from refund_progress_folded
                    where buyer_key in (select learner_key from _touched)
                    union select invoice_id from purchase_state_folded
                    where buyer_key in (select learner_key from _touched)""")
    removed = {}
    for table, where in (
            ("dead_letters", f"""{letters} or (kafka_partition, kafka_offset) in (
                 select kafka_partition, kafka_offset from raw_events
                 where event_uid in (select event_uid from _uids))"""),
            ("conflicting_deliveries", f"event_uid in (select event_uid from _uids) or {body}"),
            ("raw_events", "event_uid in (select event_uid from _uids)"),
            ("learning_events", f"event_uid in (select event_uid from _uids) or "
                                f"{named('learning')}"),
            ("commerce_events", f"event_uid in (select event_uid from _uids) or "
                                f"{named('commerce')}")):
        removed[table] = _count(con, f"delete from {table} where {where}",
                                args if "$1" in where else [])
    _refold_touched(con, removed)
    return removed


# The rows of a state an erasure can change, per scope (`-- erased by:` in its file), as a
# filter on its folded table and on the table it folds (its key columns are named alike in
# both). The engagement terms (`terms`) are taken back and added by _reengage instead.
SCOPES = {"learners": "learner_key in (select learner_key from _touched)",
          "lessons": "(course_key, lesson_key) in (select course_key, lesson_key "
                     "from _touched where course_key is not null)",
          "courses": "course_key in (select course_key from _touched)",
          "invoices": "invoice_id in (select invoice_id from _touched_invoices)"}


# What each scope's macros read of the table they fold, where not every column. The lesson
# catalogue reads few columns of many rows (1,000 people name nearly every lesson): copying
# all of them took 11 s at 10M.
COLUMNS = {"lessons": "course_key, lesson_key, lesson_name, module_key, occurred_at, "
                      "kafka_partition, kafka_offset, stored_seq",
           "courses": "course_key, school_key, course_name, school_name, occurred_at, "
                      "kafka_partition, kafka_offset, stored_seq"}


def _refold_touched(con: duckdb.DuckDBPyConnection, removed: dict[str, int]) -> None:
    """Their own state goes; anyone else a removed event named is refolded from what is left,
    and so is the catalogue of every lesson and the state of every invoice those events named
    (as `refold` would, but only for them). The state macros read the tables they fold and
    the folded tables by name, and a temp table shadows a table of that name: shadowed by the
    touched rows alone and by empty folded tables, the macros fold just those rows (a whole
    refold takes 9 s at 10M)."""
    scoped = [s for s in STATES if s.erased_by in SCOPES]
    con.execute(f"create temp table _days_before as select * from learner_days_folded "
                f"where {SCOPES['learners']}")
    for state in scoped:
        removed[state.table] = _count(con, f"delete from {state.table} "
                                           f"where {SCOPES[state.erased_by]}")
    for scope, where in SCOPES.items():
        staged = [s for s in STATES if s.erased_by == scope]  # file order: course_state last
        source = staged[0].folds
        # Only the rows folded before (stored_seq under the mark): the others stay pending,
        # merged at read time like everyone's.
        with from_scratch(con, source, f"({where}) and stored_seq < {SINCE[source]}",
                          COLUMNS.get(scope, "*")):
            for state in staged:
                con.execute(f"create temp table _re_{state.table} as "
                            f"select * from {state.macro}($1)", [EVERYTHING])
    for state in scoped:
        removed[state.table] -= _count(con, f"insert into {state.table} by name "
                                            f"select {EXTRA} from _re_{state.table}")
        con.execute(f"drop table _re_{state.table}")
    _reengage(con)


def _reengage(con: duckdb.DuckDBPyConnection) -> None:
    """The engagement terms (sql/state/92) of the touched learners' days as they were are
    taken back and those of their days now added: a temporary learner_days_pending holding
    both stands for the view of the same name that engagement_changes reads."""
    con.execute(f"""create temp table learner_days_pending as
                    select -1 as sign, learner_key, course_key, day, events from _days_before
                    union all
                    select 1, learner_key, course_key, day, events from learner_days_folded
                    where {SCOPES['learners']}""")
    con.execute("create temp table _re_engagement as select * from "
                "engagement_changes(fold_since()) where unfolded")
    con.execute("delete from engagement_changes_folded f using _re_engagement n "
                "where f.course_key is not distinct from n.course_key and f.day = n.day")
    con.execute(f"insert into engagement_changes_folded by name select {EXTRA} "
                "from _re_engagement")
    for table in ("learner_days_pending", "_re_engagement", "_days_before"):
        con.execute(f"drop table temp.main.{table}")


def _count(con: duckdb.DuckDBPyConnection, sql: str, args: Sequence[object] = ()) -> int:
    row = con.execute(sql, list(args)).fetchone()
    return int(row[0]) if row else 0


def _suppress(con: duckdb.DuckDBPyConnection, people: Sequence[Sequence[str]], key: bytes,
              key_id: str, now: datetime) -> None:
    rows = con.execute("select person, identity from _who").fetchall()
    con.execute("""insert or ignore into suppressed_people
                   select unnest($1::varchar[]), unnest($2::varchar[]), $3, $4""",
                [[keyed(key, i) for _, i in rows], [keyed(key, people[p][0]) for p, _ in rows],
                 key_id, now])
