"""Benchmark: every view and table macro over N generated learning events (prints, never asserts).

    python -m tests.bench.views [--rows 10000000] [--keep PATH]

The events are generated in SQL straight into a fresh DuckDB file with the project's schema
(hash-based pseudo-random, so every run builds the same data): 200k learners (a few very
active, most not) taking one to three of 300 courses on three platforms, 8 modules of 6
lessons each (each learner goes only so deep into a course, so later lessons see fewer
learners), three months of study sessions (up to 12 days per learner and course), an action
mix dominated by lesson_seen and lesson_completed, with un-completions, module and course
completions, enrolments, ratings, comments, favourites and inactivity flags; one raw_events
row per event (1% of them received more than a day late), a few unknown event types, dead
letters, delivery batches, and MyEduzz invoices (rows / 10 by default: 1M beside 10M
learning events) with their products mapped to courses (see INVOICES).
The current-state tables are then built from all events (`refold`, timed). Each view is
materialised (`create temp table ... as select *`), best of `--runs`, twice: with every event
folded and with FOLD_FIRST more learning events and FOLD_FIRST / 10 commerce events
pending (readers read the snapshot, which folds first from FOLD_FIRST pending rows on, so
that is the most a snapshot holds: the views merge them in at read time); then those are
folded (timed, the cost of the fold before such a snapshot) and rolled back, so a kept file
is left as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from consumer.snapshot import FOLD_FIRST
from consumer.store import apply_schema
from consumer.store.state import fold, refold

LEARNERS, COURSES, DAYS = 200_000, 300, 91
SLOW = {"cohort_retention_weekly", "engagement_daily", "engagement", "stickiness"}
MACROS = {  # sensible parameters, relative to the newest event
    "at_risk": "at_risk(getvariable('newest'), 7)",
    "engagement": "engagement(getvariable('newest'))",
    "course_funnel_between":
        "course_funnel_between(getvariable('newest') - interval 30 day, getvariable('newest'))",
    "course_funnel_days": "course_funnel_days(getvariable('newest')::date - 30, "
                          "getvariable('newest')::date)",
    "ordered_funnel": "ordered_funnel(14, getvariable('newest'))",
    "purchase_funnel_between": "purchase_funnel_between(getvariable('newest') - interval 30 day, "
                               "getvariable('newest'))",
    **{m: f"{m}(fold_since())"
       for m in ("lesson_state", "module_state", "course_state", "lesson_catalogue")},
    **{m: f"{m}(commerce_fold_since())"
       for m in ("invoice_state", "invoice_changes", "refund_progress", "mapping_state",
                 "purchase_state", "purchase_rows")},
}
# FOLD_FIRST events sampled from the others (new event_uids and offsets, half of them a
# week later): the most a snapshot holds unfolded.
PENDING = """
insert into learning_events
select * replace ('pending:' || event_uid as event_uid,
                  occurred_at + interval 7 day * (hash(kafka_offset, 3) % 2) as occurred_at,
                  100000000 + row_number() over () as kafka_offset,
                  fold_since() + row_number() over () as stored_seq)
from learning_events using sample {n} rows (reservoir, 42)
"""
# And FOLD_FIRST / 10 commerce events sampled alike (numbered after those): some open a refund
# request, so refund_progress recomputes those invoices from their buyer's events.
COMMERCE_PENDING = """
insert into commerce_events
select * replace ('pending:' || event_uid as event_uid,
                  occurred_at + interval 7 day * (hash(kafka_offset, 3) % 2) as occurred_at,
                  200000000 + row_number() over () as kafka_offset,
                  commerce_fold_since() + {after} + row_number() over () as stored_seq)
from commerce_events using sample {n} rows (reservoir, 42)
"""
ACTIONS = [  # (action, cumulative share of events)
    ("lesson_seen", .38), ("lesson_completed", .68), ("lesson_uncompleted", .70),
    ("lesson_started", .74), ("module_completed", .78), ("module_uncompleted", .79),
    ("course_completed", .805), ("course_uncompleted", .807), ("enrolled", .84),
    ("lesson_rated", .86), ("comment_created", .88), ("lesson_favorited", .90),
    ("lesson_unfavorited", .905), ("course_seen", .95), ("inactivity_flagged", .96),
    ("certificate_viewed", .97), ("file_downloaded", 1.0)]

EVENTS = """
create temp table g as
with base as (
    select i,
           -- skewed: low learner numbers are the very active ones
           floor({learners} * pow(u(i, 1), 1.6))::bigint as l,
           u(i, 2) as u2, u(i, 3) as u3, u(i, 4) as u4, u(i, 5) as u5, u(i, 6) as u6,
           u(i, 7) as u7
    from range({rows}) t(i)
), placed as (
    select *,
           -- each learner takes one to three courses
           (hash(l, floor(u2 * (1 + hash(l, 9) % 3))) % {courses})::bigint as c,
           (hash(l, 5) % 75)::bigint as start_day
    from base
), placed_lesson as (
    -- learners drop off: each goes only so deep into a course (lesson 1 to 48)
    select *, floor(u3 * (1 + floor(47 * pow(u(l * 1000 + c, 8), 2))))::int as lesson
    from placed
)
select i, l, c, ['alpaclass', 'nutror', 'toolzz'][c % 3 + 1] as platform,
       lesson // 6 as m, lesson % 6 as k,
       -- learners study in sessions: each learner x course has up to 12 study days, the
       -- earlier ones likelier; midnight of day 0 in America/Sao_Paulo, plus the day
       timestamptz '2024-01-01 03:00:00+00' + to_seconds((86400 * (u4 + start_day + floor(
           pow(u(l * 1000 + c, 100 + floor(u5 * 12)), 1.5) * ({days} - start_day))))::bigint)
           as occurred_at,
       {action} as action, u7
from placed_lesson
"""


def action_case() -> str:
    """The CASE expression choosing an action from the uniform u6."""
    arms = " ".join(f"when u6 < {share} then '{name}'" for name, share in ACTIONS[:-1])
    return f"case {arms} else '{ACTIONS[-1][0]}' end"


LEARNING = """
insert into learning_events
select case when platform = 'toolzz' then 'toolzz:sha256:' || i else 'eduzz:' || i end,
       platform, platform || '.' || action, action, occurred_at,
       occurred_at + case when u7 < 0.01 then interval 2 day else interval 3 second end,
       platform || ':s' || (c % 20), 'School ' || (c % 20),
       'learner' || l || '@example.com', l::varchar, 'learner' || l || '@example.com',
       'Learner ' || l,
       platform || ':' || c, 'Course ' || c,
       case when action like 'lesson%' or action like 'module%'
            then platform || ':m' || (c * 10 + m) end,
       case when action like 'lesson%' or action like 'module%' then 'Module ' || m end,
       case when action like 'lesson%' or action = 'comment_created'
            then platform || ':l' || (c * 100 + m * 10 + k) end,
       case when action like 'lesson%' or action = 'comment_created' then 'Lesson ' || k end,
       case when u7 > 0.7 then round(u7 * 100) end,
       case when action = 'lesson_rated' then 1 + floor(u7 * 5) end,
       case when action = 'comment_created' then 'nice lesson' end,
       (l % 3)::int, i, i
from g
"""

RAW = """
insert into raw_events
select case when platform = 'toolzz' then 'toolzz:sha256:' || i else 'eduzz:' || i end,
       case when platform = 'toolzz' then 'toolzz' else 'eduzz' end,
       platform || '.' || action,
       occurred_at + case when u7 < 0.01 then interval 2 day else interval 3 second end,
       case when platform = 'toolzz' then null else occurred_at end,
       '{"id": ' || i || '}', (l % 3)::int, i
from g
"""

EXTRAS = [  # unknown event types, dead letters, delivery batches
    """insert into raw_events
       select 'eduzz:u' || i, 'eduzz', 'brand.new_' || (i % 7),
              timestamptz '2024-01-01' + to_seconds(i * 600), null, '{}', 0, {rows} + i
       from range(5000) t(i)""",
    """insert into dead_letters
       select i % 3, {rows} + 10000 + i, timestamptz '2024-01-01' + to_seconds(i * 900),
              case when i % 4 = 0 then 'toolzz' else 'eduzz' end, 'invalid_event',
              'Expected `str`, got `int` - at `$.data.id`', '{}'::blob
       from range(8000) t(i)""",

]


# MyEduzz invoices (issue 18): most bought by learners of the course they take (its product,
# `p<course>`, mapped in product_courses), a day or two before they start, a fifth by people
# who never learn; 5% in dollars, 10% with an unmapped second item, 30% opened before being
# paid, 6% refunded (half asking first); 20 sellers, one per school.
INVOICES = """
create temp table inv as
select i, l, seller, course, paid_at, u(i, 26) < 0.06 as refunded, u(i, 27) < 0.3 as opened,
       u(i, 28) < 0.5 as asked, u(i, 29) < 0.1 as two_items,
       case when u(i, 30) < 0.05 then 'USD' else 'BRL' end as currency,
       [97.00, 197.00, 297.00, 49.90][1 + (course % 4)::bigint]::decimal(18, 2) as price
from (select i, l, course, 'myeduzz:' || (course % 20) as seller,
             case when l is null then timestamptz '2024-01-01 03:00:00+00'
                                      + to_seconds((86400 * 91 * u(i, 24))::bigint)
                  else timestamptz '2024-01-01 03:00:00+00' + to_days((hash(l, 5) % 75)::int)
                       - to_seconds((86400 * 2 * u(i, 25))::bigint) end as paid_at
      from (select i, l, case when l is null then hash(i, 31) % {courses}
                         else hash(l, floor(u(i, 23) * (1 + hash(l, 9) % 3))) % {courses}
                         end as course
            from (select i, case when u(i, 21) < 0.8
                                 then floor({learners} * pow(u(i, 22), 1.6))::bigint end as l
                  from range({invoices}) t(i))))
"""
COMMERCE = """
insert into commerce_events by name
select 'eduzz:inv' || i || '-' || e.status as event_uid, 'myeduzz' as platform,
       'myeduzz.invoice_' || case e.status when 'open' then 'opened' else e.status end
           as event_type,
       paid_at + to_seconds(e.shift) as occurred_at,
       coalesce('learner' || l || '@example.com', 'buyer' || i || '@example.com') as buyer_key,
       'inv' || i as invoice_id, e.status as status,
       ['p' || course] || case when two_items then ['extra'] else [] end as product_ids,
       price + case when two_items then 19.90 else 0 end as amount, currency,
       (i % 3)::int as kafka_partition, {offset} + i * 4 + e.k as kafka_offset,
       seller as school_key,
       [price] || case when two_items then [19.90::decimal(18, 2)] else [] end
           as product_amounts
from inv, lateral (
    select * from (values (0, 'paid', 0),
                          (1, 'open', -60 - (hash(i, 40) % 600)::bigint),
                          (2, 'waiting_refund', 86400 + (hash(i, 41) % (8 * 86400))::bigint),
                          (3, 'refunded', 2 * 86400 + (hash(i, 41) % (8 * 86400))::bigint))
                  v(k, status, shift)
    where k = 0 or (k = 1 and opened) or (k = 2 and refunded and asked) or (k = 3 and refunded)
) e
"""
MAPPING = """
insert into product_courses
select 'myeduzz:' || (c % 20), 'p' || c, ['alpaclass', 'nutror', 'toolzz'][c % 3 + 1] || ':' || c,
       timestamptz '2024-01-01'
from range({courses}) t(c)
"""


def generate(con: duckdb.DuckDBPyConnection, rows: int, invoices: int) -> None:
    """Fill the schema's tables with `rows` learning events and what goes with them."""
    con.execute("create or replace temp macro u(i, k) as (hash(i, k) % 1000003) / 1000003.0")
    con.execute(EVENTS.format(learners=LEARNERS, courses=COURSES, days=DAYS, rows=rows,
                              action=action_case()))
    con.execute(LEARNING)
    con.execute(RAW)
    for sql in EXTRAS:
        con.execute(sql.replace("{rows}", str(rows)))
    con.execute(INVOICES.format(learners=LEARNERS, courses=COURSES, invoices=invoices))
    con.execute(COMMERCE.format(offset=rows + 20_000))
    con.execute(MAPPING.format(courses=COURSES))
    con.execute("drop table inv")
    # One consumer batch a minute over the three months, per source, a few percent duplicates.
    con.execute("""insert into deliveries
        select timestamptz '2024-01-01 03:00:00+00' + to_seconds(b * 60), s,
               1000, 958 - b % 30, 38 + b % 30, b % 2, 4, 0
        from range(131040) t(b), (values ('eduzz'), ('toolzz')) v(s)""")
    con.execute("drop table g")
    con.execute("checkpoint")


def objects(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    """Names of the schema's views, tables or table macros."""
    sql = {"view": "select view_name from duckdb_views() where not internal "
                   "and schema_name = 'main'",
           "table": "select table_name from duckdb_tables() where schema_name = 'main'",
           "macro": "select distinct function_name from duckdb_functions() "
                    "where function_type = 'table_macro' and not internal "
                    "and schema_name = 'main'"}[kind]
    return sorted(r[0] for r in con.execute(sql).fetchall())


def best(con: duckdb.DuckDBPyConnection, relation: str, runs: int) -> tuple[float, float, int]:
    """Best wall and CPU seconds (all threads) of `runs` full materialisations of `relation`,
    and its row count. CPU time is the steadier figure when other work shares the cores."""
    wall, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        con.execute(f"create or replace temp table _t as select * from {relation}")
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    (count,) = con.execute("select count(*) from _t").fetchone() or (0,)
    con.execute("drop table _t")
    return min(wall), min(cpu), count


def relation(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """What to select from to time `name`: a view, a macro called as MACROS says, or a
    current-state macro of (since) as of the last fold; None for a macro that takes other
    parameters and has no entry (a building block such as cover_changes(days))."""
    if name in MACROS:
        return MACROS[name]
    (params,) = con.execute(
        "select any_value(parameters) from duckdb_functions() where function_name = $1 "
        "and function_type = 'table_macro' and schema_name = 'main'", [name]).fetchone() or (None,)
    if params is None:
        return name
    return f"{name}(fold_since())" if params == ["since"] else None


def timed(con: duckdb.DuckDBPyConnection, names: list[str], runs: int) -> dict[str, Any]:
    """Best wall and CPU seconds and row count of each view or macro in `names`."""
    out = {}
    for name in names:
        seconds, cpu, count = best(con, relation(con, name) or name, runs)
        out[name] = {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3), "rows": count}
    return out


def run(rows: int, runs: int = 3, keep: str | None = None,
        only: set[str] | None = None, invoices: int | None = None) -> dict[str, object]:
    """Generate `rows` events in a fresh file, time every view and macro (or `only` those),
    folded and with FOLD_FIRST events pending; the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or str(Path(tmp) / "bench.duckdb")
        con = duckdb.connect(path)
        apply_schema(con)
        started = time.perf_counter()
        if not con.execute("select count(*) from learning_events").fetchone()[0]:  # type: ignore[index]
            generate(con, rows, rows // 10 if invoices is None else invoices)
        generated, started = time.perf_counter() - started, time.perf_counter()
        con.execute("begin")
        refold(con)  # a kept file from older code has no state yet; a fresh one needs it too
        con.execute("commit")
        con.execute("checkpoint")
        refolded = time.perf_counter() - started
        con.execute("set variable newest = (select max(occurred_at) from learning_events)")
        stats = con.execute(
            "select count(*), count(distinct learner_key), count(distinct course_key), "
            "(select count(*) from course_state_folded), "
            "(select count(*) from lesson_state_folded), "
            "(select count(distinct invoice_id) from commerce_events), "
            "(select count(*) from commerce_events) from learning_events"
        ).fetchone() or (0, 0, 0, 0, 0, 0, 0)
        names = [n for n in objects(con, "view") + objects(con, "macro")
                 if (only is None or n in only) and relation(con, n)]
        folded = timed(con, names, runs)
        con.execute("begin")
        con.execute(PENDING.format(n=FOLD_FIRST))
        con.execute(COMMERCE_PENDING.format(n=FOLD_FIRST // 10, after=FOLD_FIRST))
        with_pending = timed(con, names, runs)
        started = time.perf_counter()
        fold(con)
        fold_seconds = time.perf_counter() - started
        con.execute("rollback")
        con.close()
    timings = {}
    for name in names:
        target = 3.0 if name in SLOW else 1.0
        worst = max(folded[name]["seconds"], with_pending[name]["seconds"])
        timings[name] = {"seconds": folded[name]["seconds"],
                         "cpu_seconds": folded[name]["cpu_seconds"],
                         "pending_seconds": with_pending[name]["seconds"],
                         "pending_cpu_seconds": with_pending[name]["cpu_seconds"],
                         "rows": folded[name]["rows"], "target": target, "ok": worst < target}
    return {"cores": os.cpu_count(), "duckdb": duckdb.__version__, "load": os.getloadavg()[0],
            "learning_events": stats[0], "learners": stats[1], "courses": stats[2],
            "learner_courses": stats[3], "learner_lessons": stats[4], "invoices": stats[5],
            "commerce_events": stats[6],
            "generate_seconds": round(generated, 1), "refold_seconds": round(refolded, 1),
            "pending": FOLD_FIRST, "fold_seconds": round(fold_seconds, 3), "views": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--invoices", type=int, help="MyEduzz invoices (default: rows / 10)")
    parser.add_argument("--keep", help="store file to create, or reuse if it holds events")
    parser.add_argument("--only", help="comma-separated views and macros to time")
    args = parser.parse_args()
    result = run(args.rows, args.runs, args.keep, set(args.only.split(",")) if args.only else None,
                 args.invoices)
    print(f"machine: {result['cores']} cores (load {result['load']:.1f}), "
          f"DuckDB {result['duckdb']}; {result['learning_events']:,} learning events, "
          f"{result['learners']:,} learners, {result['courses']} courses, "
          f"{result['learner_courses']:,} learner x course, {result['learner_lessons']:,} "
          f"learner x lesson, {result['invoices']:,} invoices ({result['commerce_events']:,} "
          f"commerce events); generated in {result['generate_seconds']} s, state built in "
          f"{result['refold_seconds']} s; folding {result['pending']:,} pending events took "
          f"{result['fold_seconds']} s")
    print(f"{'view or macro':28} {'folded s':>9} {'cpu s':>7} {'pending s':>10} {'cpu s':>7} "
          f"{'target':>7} {'rows':>10}  ok")
    for name, t in result["views"].items():  # type: ignore[attr-defined]
        print(f"{name:28} {t['seconds']:>9.3f} {t['cpu_seconds']:>7.3f} "
              f"{t['pending_seconds']:>10.3f} {t['pending_cpu_seconds']:>7.3f} "
              f"{t['target']:>7.1f} {t['rows']:>10,}  {'yes' if t['ok'] else 'NO'}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
