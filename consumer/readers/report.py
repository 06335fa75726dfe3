"""`learnstream report`: funnel, engagement and at-risk learners from the snapshot, as tables
in the terminal; `--sales`: from purchase to completion (the purchase funnel, buyers who have
not started, refunds by progress, time to first lesson, revenue per completion)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC

from consumer.readers.terminal import console as terminal_console
from consumer.readers.terminal import fail, open_snapshot, query, settings_and_args, table
from consumer.store import ReadOnly

PROG = "learnstream report"
# `$1` is the course (NULL: every course), `$2` the most rows shown; the last column, the
# number of rows there would be without the limit, is not shown.
FUNNEL = """
    select course_key as course, course_name as name, learners, enrolled, started,
           completed_lesson as lesson, completed_module as module, completed_course as done,
           round(100 * completed_course / nullif(learners, 0), 1) as "done %",
           count(*) over () as total
    from course_funnel where $1::varchar is null or course_key = $1
    order by learners desc, course_key limit $2"""
# The day of the newest event, not today: a snapshot of past data still reads sensibly.
ENGAGEMENT = """
    select e.course_key as course, c.course_name as name, e.day, e.dau, e.wau, e.mau,
           count(*) over () as total
    from engagement((select max(occurred_at) from learning_events)) e
    left join courses c using (course_key)
    where $1::varchar is null or e.course_key = $1
    order by e.mau desc, e.course_key limit $2"""
AT_RISK = """
    select learner_key as learner, course_key as course,
           cast(timezone('America/Sao_Paulo', last_activity_at) as date) as last_active,
           days_inactive, count(*) over () as total
    from at_risk_learners where $1::varchar is null or course_key = $1
    order by days_inactive desc, learner_key, course_key limit $2"""
SECTIONS = (
    ("Funnel: learners enrolled, started, with >= 1 lesson, >= 1 module, course done",
     FUNNEL, "no course"),
    ("Engagement: learners active on the newest event's day (dau), its 7 (wau) and 30 days "
     "(mau)", ENGAGEMENT, "nobody active in the 30 days up to the newest event"),
    ("At risk: inactive over 7 days before the newest event, course not done", AT_RISK,
     "nobody"),
)

# --sales: the same `$1` (a course: its products) and `$2`.
OF_COURSE = ("($1::varchar is null or product_id in "
             "(select product_id from product_courses where course_key = $1))")
PURCHASE_FUNNEL = """
    select product_id as product, coalesce(course_key, '(unmapped)') as course,
           max(reached) filter (where step_number = 1) as paid,
           max(reached) filter (where step_number = 2) as started,
           max(reached) filter (where step_number = 3) as lesson,
           max(reached) filter (where step_number = 4) as half,
           max(reached) filter (where step_number = 5) as done,
           sum(in_window) as "in window", sum(dropped) as dropped, count(*) over () as total
    from purchase_funnel where $1::varchar is null or course_key = $1
    group by school_key, product_id, course_key order by paid desc, product, course limit $2"""
NOT_STARTED = f"""
    select buyer_key as buyer, product_id as product,
           cast(timezone('America/Sao_Paulo', paid_at) as date) as paid,
           days_since_payment as days,
           case when in_withdrawal_period then 'yes' else '' end as "within 7 days",
           count(*) over () as total
    from buyers_not_started where {OF_COURSE}
    order by in_withdrawal_period desc, days_since_payment, buyer_key, product_id limit $2"""
REFUNDS = f"""
    select progress_bucket as "progress when asked", sum(purchases) as purchases,
           sum(refunds) as refunds, round(100 * sum(refunds) / sum(purchases), 1) as "refund %",
           count(*) over () as total
    from refunds_by_progress where {OF_COURSE}
    group by bucket_order, progress_bucket order by bucket_order limit $2"""
FIRST_LESSON = f"""
    select product_id as product, purchases, started,
           round(median_days, 1) as "median days", round(p90_days, 1) as "p90 days",
           count(*) over () as total
    from time_to_first_lesson where {OF_COURSE}
    order by purchases desc, product limit $2"""
REVENUE = f"""
    select product_id as product, currency, strftime(month, '%Y-%m') as month,
           net_revenue as net, completions, revenue_per_completion as "net per completion",
           count(*) over () as total
    from revenue_per_completion where {OF_COURSE}
    order by month desc, net_revenue desc, product, currency limit $2"""
SALES = (
    ("Purchase funnel: paid purchases that started, completed a lesson, half and all of the "
     "course since payment", PURCHASE_FUNNEL, "no paid purchase"),
    ("Buyers not started: paid, not refunded, no activity since payment (7 days: CDC Art. 49 "
     "withdrawal period)", NOT_STARTED, "every paying buyer has started"),
    ("Refunds by progress: lessons completed when the refund was asked (else now)", REFUNDS,
     "no paid purchase"),
    ("Time from payment to the first learning activity", FIRST_LESSON, "no paid purchase"),
    ("Net revenue (paid - refunded, per currency) per course completion, by month of payment",
     REVENUE, "no paid purchase with an amount"),
)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--course", metavar="KEY", help="one course (a course_key, e.g. "
                        "alpaclass:123); default: every course")
    parser.add_argument("--limit", type=int, default=20, metavar="N",
                        help="most rows per table (default: 20)")
    parser.add_argument("--sales", action="store_true", help="from purchase to completion: "
                        "MyEduzz purchases joined with learning (with --course: its products)")


def main(argv: Sequence[str]) -> None:
    """`learnstream report [--snapshot PATH] [--course KEY] [--limit N] [--sales]`."""
    settings, args = settings_and_args(argv, PROG, _add_arguments)
    if args.limit < 1:
        fail(PROG, "--limit must be at least 1", 2)
    with open_snapshot(settings, PROG) as db:
        if args.course is not None and not query(
                db, PROG, "select 1 from courses where course_key = $1", [args.course])[1]:
            fail(PROG, f"no course {args.course!r} in {db.path} "
                       "(learnstream sql \"select course_key from courses\" lists them)")
        console = terminal_console()
        console.print(_freshness(db))
        for title, sql, empty in SALES if args.sales else SECTIONS:
            columns, rows = query(db, PROG, sql, [args.course, args.limit])
            total = rows[0][-1] if rows else 0
            caption = empty if not rows else (
                f"{len(rows)} of {total}; --limit N shows more" if total > len(rows) else None)
            console.print(table(columns[:-1], [r[:-1] for r in rows],
                                title, caption))


def _freshness(db: ReadOnly) -> str:
    """Which file, as of when, holding what."""
    rows = query(db, PROG, "select as_of, age_seconds, events, dead_letters "
                           "from snapshot_info")[1]
    if not rows:  # a consumer's own file, read after it stopped
        return f"{db.path}: not a snapshot (no as_of)"
    as_of, age, events, dead = rows[0]
    return (f"{db.path}: as of {as_of.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC "
            f"({age:.0f} s ago), {events} events, "
            f"{dead} dead letters")
