"""A course's lessons, completion and time to complete, and the at-risk learners."""

from __future__ import annotations

from typing import Any

from consumer.readers.dashboard.common import (
    COLOURS,
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


def _needs_course(f: Filters) -> Json | None:
    if f.course is None:
        return {"note": "Pick a course (click one under Completion per course) to see its "
                        "lessons."}
    return None


def lessons(q: Query, f: Filters, ctx: Context) -> Json:
    """lesson_funnel of the course: drop-off lesson by lesson."""
    if (missing := _needs_course(f)) is not None:
        return missing
    columns, rows = q("""select lesson_key, lesson_name, module_key, learners_seen,
                                learners_completed,
                                round(100 * share_of_course_learners, 1) as completed_pct
                         from lesson_funnel where course_key = $course
                         order by learners_seen desc, learners_completed desc, lesson_key""",
                      {"course": f.course})
    x = [label(r[1] or r[0]) for r in rows]
    data = [{"type": "bar", "name": name, "x": x, "y": [r[i] for r in rows],
             "hovertext": [label(r[0]) for r in rows], "hoverinfo": "x+y+name+text",
             "marker": {"color": colour}}
            for name, i, colour in (("learners who reached it", 3, COLOURS[0]),
                                    ("learners who completed it", 4, COLOURS[1]))]
    return {"figure": figure(data, barmode="group",
                             xaxis={"type": "category", "automargin": True}),
            "table": table(columns, rows),
            "note": "Ordered by learners who reached each lesson: the webhooks carry no "
                    "lesson position, and drop-off makes this the course order."}


def completion(q: Query, f: Filters, ctx: Context) -> Json:
    """completion_buckets summed over the chosen courses."""
    where, params = courses_where(f)
    columns, rows = q(f"""select bucket, sum(learners)::bigint as learners
                          from completion_buckets where {where}
                          group by all order by bucket""", params)
    data = [{"type": "bar", "x": [f"{r[0]}%" for r in rows], "y": [r[1] for r in rows],
             "marker": {"color": COLOURS[0]}, "name": "learners"}]
    return {"figure": figure(data, xaxis={"type": "category",
                                          "title": {"text": "share of known lessons completed"}}),
            "table": table(columns, rows),
            "note": f"Learners by the share of the course's known lessons they have completed "
                    f"now ({scope(f)}; a learner on two courses counts on each)."}


def time_to_complete(q: Query, f: Filters, ctx: Context) -> Json:
    """time_to_complete of the chosen courses."""
    where, params = courses_where(f, "t.course_key")
    columns, rows = q(f"""select t.course_key, n.course_name, t.completed_learners,
                                 round(t.median_days, 1) as median_days,
                                 round(t.p90_days, 1) as p90_days
                          from time_to_complete t
                          left join {q.view("course_names")} n using (course_key)
                          where {where} order by t.completed_learners desc, t.course_key""",
                      params)
    note = ("Days from a learner's first activity on the course to its completion "
            "(learners whose course is completed now).")
    if f.course is not None:  # one course: its three numbers
        if not rows:
            return {"note": "Nobody has completed this course (now)."}
        return {"numbers": [["completed learners", rows[0][2]], ["median days", rows[0][3]],
                            ["90th percentile days", rows[0][4]]], "note": note}
    return {"table": table(columns, rows, link="course_key"), "note": note}


AT_RISK = """select a.learner_key, a.course_key, n.course_name,
                    a.last_activity_at, a.days_inactive
             from {rows} a left join {names} n using (course_key)
             where {where}
             order by a.days_inactive desc, a.learner_key, a.course_key"""


def at_risk_query(f: Filters, ctx: Context, q: Query | None = None
                  ) -> tuple[str, dict[str, Any]]:
    """The at-risk rows of the filters: for the panel, from `q`'s copies (the macro's rows
    of every course, once per as_of and min_days); for the CSV, the macro itself."""
    where, params = courses_where(f, "a.course_key")
    as_of = window(f, ctx).as_of
    if q is not None:
        sql = AT_RISK.format(rows=q.call("at_risk", as_of, f.min_days),
                             names=q.view("course_names"), where=where)
        return sql, params
    sql = AT_RISK.format(rows="at_risk($as_of, $min_days)", names="course_names", where=where)
    return sql, {**params, "as_of": as_of, "min_days": f.min_days}


def at_risk(q: Query, f: Filters, ctx: Context) -> Json:
    """at_risk(as_of, min_days) of the chosen courses."""
    sql, params = at_risk_query(f, ctx, q)
    columns, rows = q(sql, params)
    as_of = window(f, ctx).as_of
    return {"table": table(columns, rows), "numbers": [["learners at risk", len(rows)]],
            "csv": True,
            "note": f"Not done with the course and inactive for at least {f.min_days} days "
                    f"at {as_of:%Y-%m-%d %H:%M %Z} ({scope(f)}). Learner keys are "
                    "e-mails: personal data."}
