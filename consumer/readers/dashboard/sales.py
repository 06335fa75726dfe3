"""The "Sales to learning" tab: MyEduzz purchases joined with learning (README "Sales to
learning"): the purchase funnel, buyers who have not started, refunds by progress, time to
the first lesson and net revenue per completion.

The page's filters choose courses, as everywhere on the page; a sales view without a course
column is narrowed to the products mapped (product_courses) to those courses, so products
without a mapping show only while no course, school or platform is chosen. A school key
`myeduzz:<producer id>` is a seller (the sales views' school_key), not a school courses are
taught under: it picks that seller's purchases. Every view is copied once per snapshot
(each reads purchase_courses, the costly part): a filter change only picks rows.
"""

from __future__ import annotations

from typing import Any

import msgspec

from consumer.readers.dashboard.common import (
    COLOURS,
    TABLE_ROWS,
    Context,
    Json,
    Query,
    courses_where,
    figure,
    label,
    scope,
    table,
    window,
)
from consumer.readers.dashboard.filters import Filters

SELLER = "myeduzz:"  # sellers' keys; schools of courses are of the learning platforms
STEPS = ["paid", "started", "completed_lesson", "half_course", "completed_course"]
PERSONAL = "Buyer keys are e-mails: personal data."


def _split(f: Filters) -> tuple[Filters, str | None]:
    """(the filters that choose courses, the seller chosen by the school filter or None)."""
    if f.school is not None and f.school.startswith(SELLER):
        return msgspec.structs.replace(f, school=None), f.school
    return f, None


def _where(f: Filters, course_column: str | None, alias: str = "s"
           ) -> tuple[str, dict[str, Any]]:
    """The condition choosing the rows of the filters: by `course_column` when the view has
    one, else by the products mapped to the chosen courses; the seller by its key."""
    courses, seller = _split(f)
    if course_column is not None:
        where, params = courses_where(courses, course_column)
    else:
        chosen, params = courses_where(courses, "m.course_key")
        where = "true" if chosen == "true" else (
            f"exists (select 1 from product_courses m where m.school_key = {alias}.school_key"
            f" and m.product_id = {alias}.product_id and {chosen})")
    if seller is not None:
        where += f" and {alias}.school_key = $seller"
        params["seller"] = seller
    return where, params


def _which(f: Filters) -> str:
    """Which purchases the numbers cover, in words."""
    courses, seller = _split(f)
    if seller is None:
        return scope(courses)
    if courses.course is None and courses.platform is None:
        return f"seller {seller}"
    return f"{scope(courses)}, seller {seller}"


def _dated(f: Filters) -> bool:
    """Whether the page's date range was set (else the sales panels cover every purchase)."""
    return f.start is not None or f.end is not None


def purchase_funnel(q: Query, f: Filters, ctx: Context) -> Json:
    """purchase_funnel, or purchase_funnel_between over the date range when one is set: the
    steps summed over the chosen courses, and the table per product and course."""
    w = window(f, ctx)
    rows_of = (q.call("purchase_funnel_between", w.start, w.stop) if _dated(f)
               else q.view("purchase_funnel"))
    where, params = _where(f, "s.course_key")
    steps = q(f"""select step_number, step, sum(reached)::bigint as reached,
                         sum(in_window)::bigint as in_window, sum(dropped)::bigint as dropped
                  from {rows_of} s where {where} group by all order by step_number""",
              params)[1]
    reached = ", ".join(f"max(s.reached) filter (where s.step_number = {i}) as {step}"
                        for i, step in enumerate(STEPS, 1))
    columns, rows = q(f"""
        select s.school_key, s.product_id, s.course_key, n.course_name, s.mapped, {reached},
               sum(s.in_window)::bigint as in_window, sum(s.dropped)::bigint as dropped
        from {rows_of} s left join {q.view("course_names")} n using (course_key)
        where {where}
        group by all order by paid desc, s.school_key, s.product_id, s.course_key""", params)
    cohort = (f"Paid {w.first_day} to {w.last_day}" if _dated(f)
              else "Every purchase (set From/To for a cohort of payments)")
    note = (f"Paid purchases (invoice x product) reaching each step in order since payment; "
            f"those stuck at a step are still in the 30-day window or dropped. {cohort}; "
            f"{_which(f)}. A product of two courses counts on each; course "
            "(none): a product without a mapping, over its buyer's courses.")
    if not steps:
        return {"note": "No paid purchase here. " + note}
    data = [{"type": "bar", "name": name, "x": [r[1] for r in steps],
             "y": [r[i] for r in steps], "marker": {"color": colour}}
            for name, i, colour in (("reached", 2, COLOURS[1]), ("still in window", 3,
                                    COLOURS[2]), ("dropped", 4, COLOURS[3]))]
    return {"figure": figure(data, barmode="stack", xaxis={"type": "category"}),
            "numbers": [[r[1], r[2]] for r in steps],
            "table": table(columns, rows, link="course_key"), "note": note}


BUYERS = """select s.buyer_key, s.school_key, s.product_id, s.invoice_id, s.paid_at,
                   s.days_since_payment,
                   case when s.in_withdrawal_period then 'yes' else 'no' end
                       as within_7_days,
                   s.mapped
            from {rows} s
            where {where}
            order by s.in_withdrawal_period desc, s.days_since_payment, s.buyer_key,
                     s.product_id, s.invoice_id"""
BUYERS_COLUMNS = ["buyer_key", "school_key", "product_id", "invoice_id", "paid_at",
                  "days_since_payment", "within_7_days", "mapped"]


def buyers_query(f: Filters, ctx: Context, q: Query | None = None
                 ) -> tuple[str, dict[str, Any]]:
    """The buyers_not_started rows of the filters (paid in the date range when one is set):
    for the panel from `q`'s copy of the view, for the CSV from the view itself."""
    where, params = _where(f, None)
    if _dated(f):
        w = window(f, ctx)
        where += " and s.paid_at >= $start and s.paid_at < $stop"
        params |= {"start": w.start, "stop": w.stop}
    rows = q.view("buyers_not_started") if q is not None else "buyers_not_started"
    return BUYERS.format(rows=rows, where=where), params


def buyers_not_started(q: Query, f: Filters, ctx: Context) -> Json:
    """buyers_not_started of the chosen products, those still able to withdraw first."""
    sql, params = buyers_query(f, ctx, q)
    # The rows the table shows (the CSV has them all), and the counts of all of them: a
    # large store has many more than a page holds.
    columns, rows = q(f"{sql} limit {TABLE_ROWS}", params)
    total, buyers, within = q(f"""select count(*), count(distinct buyer_key),
                                         count(*) filter (where within_7_days = 'yes')
                                  from ({sql})""", params)[1][0]
    w = window(f, ctx)
    paid = f"paid {w.first_day} to {w.last_day}" if _dated(f) else "every purchase"
    return {"numbers": [["purchases not started", total], ["buyers", buyers],
                        ["within 7 days of payment", within]],
            "table": table(columns, rows, total), "csv": "buyers-not-started.csv",
            "note": f"Paid and not refunded now, no learning activity on the purchase's "
                    f"courses since payment ({paid}; {_which(f)}). within_7_days: still "
                    f"inside the 7-day withdrawal period (CDC Art. 49), counted to the newest "
                    f"stored event. {PERSONAL}"}


def refunds_by_progress(q: Query, f: Filters, ctx: Context) -> Json:
    """refunds_by_progress: the chart sums the chosen products per bucket; the table is the
    view's rows (with the days from payment to refund, which do not sum)."""
    where, params = _where(f, None)
    rows_of = q.view("refunds_by_progress")
    sums = q(f"""select bucket_order, progress_bucket, sum(purchases)::bigint as purchases,
                        sum(refunds)::bigint as refunds,
                        round(sum(refunds) / sum(purchases), 4) as refund_rate
                 from {rows_of} s where {where} group by all order by bucket_order""",
             params)[1]
    columns, rows = q(f"""select s.school_key, s.product_id, s.mapped, s.progress_bucket,
                                 s.purchases, s.refunds, round(s.refund_rate, 4) as refund_rate,
                                 round(s.median_days_to_refund, 1) as median_days_to_refund,
                                 round(s.p90_days_to_refund, 1) as p90_days_to_refund
                          from {rows_of} s where {where}
                          order by s.school_key, s.product_id, s.bucket_order""", params)
    note = (f"Purchases ever paid by the share of the course's known lessons completed when "
            f"the refund was asked (now, when none was): how many are refunded now "
            f"({_which(f)}).")
    if not sums:
        return {"note": "No paid purchase here. " + note}
    x = [r[1] for r in sums]
    data = [{"type": "bar", "name": "purchases", "x": x, "y": [r[2] for r in sums],
             "marker": {"color": COLOURS[0]}},
            {"type": "bar", "name": "refunded", "x": x, "y": [r[3] for r in sums],
             "text": [f"{r[4]:.0%}" for r in sums], "textposition": "outside",
             "marker": {"color": COLOURS[3]}}]
    return {"figure": figure(data, barmode="group", xaxis={"type": "category", "title": {
                "text": "lessons completed when the refund was asked"}}),
            "numbers": [[f"refund rate {r[1]}", f"{r[4]:.1%}"] for r in sums],
            "table": table(columns, rows), "note": note}


def time_to_first_lesson(q: Query, f: Filters, ctx: Context) -> Json:
    """time_to_first_lesson of the chosen products."""
    where, params = _where(f, None)
    columns, rows = q(f"""select s.school_key, s.product_id, s.mapped, s.purchases, s.started,
                                 round(s.median_days, 1) as median_days,
                                 round(s.p90_days, 1) as p90_days
                          from {q.view("time_to_first_lesson")} s where {where}
                          order by s.purchases desc, s.school_key, s.product_id""", params)
    note = (f"Days from payment to the buyer's first learning activity on the purchase's "
            f"courses, over those who started ({_which(f)}).")
    if not rows:
        return {"note": "No paid purchase here. " + note}
    y = [label(r[1]) for r in rows]
    data = [{"type": "bar", "orientation": "h", "name": name, "y": y,
             "x": [r[i] for r in rows], "marker": {"color": colour}}
            for name, i, colour in (("median days", 5, COLOURS[0]),
                                    ("90th percentile days", 6, COLOURS[4]))]
    return {"figure": figure(data, barmode="group", height=max(200, 30 * len(rows) + 60),
                             yaxis={"type": "category", "autorange": "reversed"},
                             xaxis={"title": {"text": "days from payment"}}),
            "table": table(columns, rows), "note": note}


def revenue_per_completion(q: Query, f: Filters, ctx: Context) -> Json:
    """revenue_per_completion of the chosen products: the chart and the totals per currency
    (never summed across currencies), the table per product, currency and month."""
    where, params = _where(f, None)
    rows_of = q.view("revenue_per_completion")
    # The chart gets doubles; the totals and the table stay DECIMAL (the page shows their
    # exact text).
    months = q(f"""select currency, strftime(month, '%Y-%m') as month,
                          sum(net_revenue)::double as net_revenue
                   from {rows_of} s where {where} group by all order by currency, month""",
               params)[1]
    columns, rows = q(f"""select s.school_key, s.product_id, s.currency,
                                 strftime(s.month, '%Y-%m') as month, s.purchases,
                                 s.paid_revenue, s.refunded_revenue, s.net_revenue,
                                 s.completions, s.revenue_per_completion
                          from {rows_of} s where {where}
                          order by s.month desc, s.currency, s.net_revenue desc,
                                   s.school_key, s.product_id""", params)
    note = (f"Net revenue (paid minus refunded now) by month of payment, per currency: "
            f"never summed across currencies. revenue_per_completion: net revenue over the "
            f"purchases that reached a course completion ({_which(f)}).")
    if not rows:
        return {"note": "No paid purchase with an amount here. " + note}
    currencies = sorted({r[0] for r in months})
    # One chart per currency, each with its own axis: amounts of two currencies never
    # share a scale (nor a sum).
    data = [{"type": "bar", "name": label(c), "x": [r[1] for r in months if r[0] == c],
             "y": [r[2] for r in months if r[0] == c], "marker": {"color": COLOURS[i % 6]},
             "xaxis": f"x{i + 1}", "yaxis": f"y{i + 1}"}
            for i, c in enumerate(currencies)]
    axes = {f"{axis}{i + 1}": value for i, c in enumerate(currencies[1:], 1)
            for axis, value in (("xaxis", {"type": "category", "automargin": True}),
                                ("yaxis", {"title": {"text": f"net {label(c)}"},
                                           "rangemode": "tozero", "automargin": True}))}
    totals = q(f"""select currency, sum(net_revenue), sum(completions)::bigint
                   from {rows_of} s where {where} group by all order by currency""",
               params)[1]
    return {"figure": figure(data, xaxis={"type": "category"},
                             yaxis={"title": {"text": f"net {label(currencies[0])}"}},
                             grid={"rows": len(currencies), "columns": 1,
                                   "pattern": "independent"},
                             height=60 + 200 * len(currencies), **axes),
            "numbers": [item for c, net, done in totals
                        for item in ([f"net revenue {c}", str(net)],
                                     [f"purchases completed ({c})", done])],
            "table": table(columns, rows), "note": note}
