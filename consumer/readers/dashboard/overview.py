"""The overview's panels: the snapshot header, completion per course, the two funnels,
engagement, stickiness and weekly retention."""

from __future__ import annotations

from datetime import UTC

from consumer.readers.dashboard.common import (
    COLOURS,
    IDLE_SECONDS,
    TOP_COURSES,
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


def header(q: Query, f: Filters, ctx: Context) -> Json:
    """snapshot_info: as of when, how old, what it holds; idle (not an alarm) when old."""
    rows = q("select as_of, age_seconds, events, learning_events, dead_letters "
             "from snapshot_info", {})[1]
    if not rows:
        return {"note": "This file has no snapshot row: it is a consumer's own store, read "
                        "after it stopped. Counts are those of the file."}
    as_of, age, events, learning, dead = rows[0]
    idle = age is not None and age > IDLE_SECONDS
    return {"numbers": [["as of (UTC)", as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")],
                        ["age", f"{age:.0f} s"], ["events", events],
                        ["learning events", learning], ["dead letters", dead],
                        ["newest event (UTC)", ctx.newest.astimezone(UTC).strftime(
                            "%Y-%m-%d %H:%M") if ctx.newest else "none"]],
            "idle": idle,
            "note": ("idle: no new snapshot for a while. The consumer publishes one only when "
                     "events arrive, so this usually means no webhooks came in." if idle
                     else "")}


def courses(q: Query, f: Filters, ctx: Context) -> Json:
    """course_funnel per course (all of the school/platform filter: the chosen course stays
    among the others, and the page highlights it, so a course click recomputes nothing
    here), and the choices of the filter form."""
    where, params = courses_where(f, course=False)
    columns, rows = q(f"""
        select course_key, course_name, platform, learners, enrolled, started,
               completed_lesson, completed_module, completed_course,
               round(100 * completed_course / nullif(learners, 0), 1) as completed_pct
        from course_funnel where {where}
        order by learners desc, course_key""", params)
    top = rows[:TOP_COURSES]
    bars = {"type": "bar", "orientation": "h", "y": [label(r[1] or r[0]) for r in top],
            "x": [r[9] for r in top], "customdata": [r[0] for r in top],
            "hovertext": [f"{label(r[1] or r[0])}: {r[8]} of {r[3]} learners" for r in top],
            "hoverinfo": "text", "marker": {"color": COLOURS[0]}, "name": "completed %"}
    platforms = q(f"select distinct split_part(course_key, ':', 1) from "
                  f"{q.view('course_names')} order by 1", {})[1]
    schools = q(f"select school_key, any_value(school_name) from {q.view('course_schools')} "
                "group by all order by 2, 1", {})[1]
    return {"figure": figure([bars], height=max(200, 24 * len(top) + 60), hovermode="y",
                             yaxis={"autorange": "reversed", "type": "category"},
                             xaxis={"title": {"text": "completed course, % of learners"},
                                    "rangemode": "tozero"}),
            "clickable": True,
            "table": table(columns, rows, link="course_key"),
            "choices": {"course": [[r[0], r[1]] for r in rows],
                        "platform": [r[0] for r in platforms],
                        "school": [[r[0], r[1]] for r in schools]},
            "note": f"{len(rows)} courses; the chart shows the {len(top)} with most learners. "
                    "Click a course to filter the page."}


FUNNEL_STEPS = ["learners", "enrolled", "started", "completed_lesson", "completed_module",
                "completed_course"]


def funnel_between(q: Query, f: Filters, ctx: Context) -> Json:
    """course_funnel_between over the date range, summed over the chosen courses. The range
    is whole days, so course_funnel_days gives the same rows from the folded funnel pairs
    (sql/state/97, one row per learner and course: 0.17 s at 10M events, where grouping
    the learner-days took 1.0-1.6 s and grouping the events 2.4-3.6 s)."""
    w = window(f, ctx)
    where, params = courses_where(f)
    sums = ", ".join(f"coalesce(sum({s}), 0)::bigint as {s}" for s in FUNNEL_STEPS)
    _, rows = q(f"select {sums} from {q.call('course_funnel_days', w.first_day, w.last_day)} "
                f"where {where}", params)
    values = list(rows[0])
    return {"figure": figure([{"type": "funnel", "y": FUNNEL_STEPS, "x": values,
                               "textinfo": "value+percent initial",
                               "marker": {"color": COLOURS[0]}}],
                             margin={"l": 130, "r": 20, "t": 10, "b": 30}),
            "numbers": [[s, v] for s, v in zip(FUNNEL_STEPS, values, strict=True)],
            "note": f"Events from {w.first_day} to {w.last_day} ({scope(f)}); a learner "
                    "on two courses counts on each."}


def ordered_funnel(q: Query, f: Filters, ctx: Context) -> Json:
    """ordered_funnel(window_days, as_of) summed over the chosen courses, per step."""
    w = window(f, ctx)
    where, params = courses_where(f)
    columns, rows = q(f"""
        select step_number, step, sum(reached)::bigint as reached,
               sum(in_window)::bigint as in_window, sum(dropped)::bigint as dropped
        from {q.call("ordered_funnel", f.window_days, w.as_of)} where {where}
        group by all order by step_number""", params)
    steps = [r[1] for r in rows]
    data = [{"type": "bar", "name": name, "x": steps, "y": [r[i] for r in rows],
             "marker": {"color": colour}}
            for name, i, colour in (("reached", 2, COLOURS[1]), ("still in window", 3,
                                    COLOURS[2]), ("dropped", 4, COLOURS[3]))]
    return {"figure": figure(data, barmode="stack"),
            "table": table(columns, rows),
            "note": f"Enrolled, then started, a lesson, the course, in that order within "
                    f"{f.window_days} days of enrolling, as of {w.as_of:%Y-%m-%d %H:%M %Z} "
                    f"({scope(f)})."}


def engagement(q: Query, f: Filters, ctx: Context) -> Json:
    """DAU, WAU, MAU per day: of the course (engagement_daily), or of all courses with each
    learner counted once (engagement_daily_all)."""
    w = window(f, ctx)
    days = {"first": w.first_day, "last": w.last_day}
    if f.course is not None:
        columns, rows = q(f"""select day, dau, wau, mau, events
                              from {q.view("engagement_daily", f.course)}
                             where course_key = $course and day between $first and $last
                             order by day""", {"course": f.course, **days})
        note = "Distinct active learners of this course."
    else:
        columns, rows = q(f"""select day, dau, wau, mau, events
                              from {q.view("engagement_daily_all")}
                             where day between $first and $last order by day""", days)
        note = "Distinct active learners of all courses, each counted once."
        if f.platform or f.school:
            note += (" The school and platform filters do not apply here: a learner active "
                     "on several of their courses could not be counted once.")
    x = [r[0] for r in rows]
    data = [{"type": "scatter", "mode": "lines+markers", "name": name, "x": x,
             "y": [r[i] for r in rows], "line": {"color": COLOURS[i - 1]}}
            for name, i in (("DAU", 1), ("WAU", 2), ("MAU", 3))]
    return {"figure": figure(data), "table": table(columns, rows[::-1]),
            "note": f"{note} Days {w.first_day} to {w.last_day} (America/Sao_Paulo)."}


def stickiness(q: Query, f: Filters, ctx: Context) -> Json:
    """dau / mau per day, and how many days of the last 30 learners were active (stickiness,
    all courses)."""
    w = window(f, ctx)
    days = {"first": w.first_day, "last": w.last_day}
    if f.course is not None:
        ratio = q(f"""select day, dau / mau from {q.view("engagement_daily", f.course)}
                     where course_key = $course and day between $first and $last
                     order by day""", {"course": f.course, **days})[1]
    else:
        ratio = q(f"""select day, stickiness from {q.view("engagement_daily_all")}
                     where day between $first and $last order by day""", days)[1]
    # All courses whatever the filter: copied once, so a course click does not recount it.
    columns, spread = q(f"""select active_days_30d, count(*) as learners
                            from {q.view("stickiness")} group by all order by 1""", {})
    data = [{"type": "scatter", "mode": "lines", "name": "DAU / MAU", "x": [r[0] for r in ratio],
             "y": [r[1] for r in ratio], "line": {"color": COLOURS[4]}},
            {"type": "bar", "name": "learners by active days in the last 30 (all courses)",
             "x": [r[0] for r in spread], "y": [r[1] for r in spread], "xaxis": "x2",
             "yaxis": "y2", "marker": {"color": COLOURS[5]}}]
    return {"figure": figure(data, grid={"rows": 1, "columns": 2, "pattern": "independent"},
                             xaxis2={"title": {"text": "active days in the last 30"}},
                             yaxis={"rangemode": "tozero", "tickformat": ".0%"},
                             yaxis2={"rangemode": "tozero"}),
            "table": table(columns, spread),
            "note": f"Left: DAU / MAU per day ({scope(f) if f.course else 'all courses'}). "
                    "Right: learners by days active in the 30 days up to the newest event, "
                    "on any course."}


def retention(q: Query, f: Filters, ctx: Context) -> Json:
    """cohort_retention_weekly as a heatmap (cohorts are of all courses)."""
    columns, rows = q(f"""select cohort_week, week_number, cohort_size, active_learners,
                                round(retention, 4) as retention
                         from {q.view("cohort_retention_weekly")}
                         order by cohort_week, week_number""", {})
    cohorts = sorted({r[0] for r in rows})
    weeks = list(range(max((r[1] for r in rows), default=-1) + 1))
    cell = {(r[0], r[1]): r for r in rows}
    z = [[cell[(c, n)][4] if (c, n) in cell else None for n in weeks] for c in cohorts]
    text = [[f"{cell[(c, n)][3]} of {cell[(c, n)][2]}" if (c, n) in cell else "" for n in weeks]
            for c in cohorts]
    data = [{"type": "heatmap", "x": weeks, "y": [str(c) for c in cohorts], "z": z,
             "text": text, "colorscale": [[0, "#eff6ff"], [1, "#1d4ed8"]], "zmin": 0,
             "zmax": 1,
             "hovertemplate": "cohort %{y}, week %{x}: %{z:.1%} (%{text})<extra></extra>"}]
    return {"figure": figure(data, height=max(220, 22 * len(cohorts) + 80),
                             xaxis={"title": {"text": "weeks since first activity"},
                                    "dtick": 1},
                             yaxis={"type": "category", "autorange": "reversed"}),
            "table": table(columns, rows),
            "note": "Learners by the week of their first activity on any course: the share "
                    "active in each week since (weeks start Monday, America/Sao_Paulo)."}
