"""The named panels: each one's SQL over the views and macros of sql/, and the JSON the page
draws from it (a plotly figure, a table, a few numbers, a note).

Every number comes out of DuckDB; Python only arranges rows into figures, and the page only
draws them. Names (courses, lessons, schools) are attacker-controlled text from webhooks:
tables carry them as plain values (the page sets textContent), and in figures, whose
labels plotly reads as a small HTML-like markup, they go through `label` (escaped), never
raw. The raw key of a clickable mark travels in customdata, which plotly never renders.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from consumer.readers.dashboard.filters import Filters

ZONE = ZoneInfo("America/Sao_Paulo")  # the views' reporting zone (README "Views")
Rows = list[tuple[Any, ...]]


class Query(Protocol):
    """One snapshot's connection, as the panels see it."""

    def __call__(self, sql: str, params: dict[str, Any], /) -> tuple[list[str], Rows]:
        """Run `sql` with named parameters; (columns, rows)."""

    def view(self, name: str) -> str:
        """A name to read view `name` by, computed once per snapshot however many panels
        and filter sets read it (a course click slices it instead of recomputing it)."""

    def call(self, macro: str, *args: Any) -> str:
        """The same for table macro `macro(*args)`: its rows for every course, computed once
        per snapshot and arguments; the course filters then only pick rows."""

Json = dict[str, Any]
DEFAULT_DAYS = 90  # the range when none is given: a quarter up to the newest event
IDLE_SECONDS = 60  # a snapshot older than this: no events arrived since (not a failure)
TABLE_ROWS = 200  # most rows a table shows; the at-risk CSV has them all
TOP_COURSES = 25  # bars in the completion chart; the table lists every course
COLOURS = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2"]


class Context(NamedTuple):
    """What every panel of one snapshot shares: the newest event's time (the default end
    of every range, so a snapshot of past data still reads sensibly)."""

    newest: datetime | None


class Window(NamedTuple):
    """The filters' days resolved against the snapshot: [start, stop) as instants, and
    `as_of`, the moment at-risk and the ordered funnel are measured at."""

    first_day: date
    last_day: date
    start: datetime
    stop: datetime
    as_of: datetime


def window(f: Filters, ctx: Context) -> Window:
    """`from`..`to` (calendar days in the reporting zone, both included); by default the 90
    days up to the newest event. as_of is the newest event, or the end of `to` if given."""
    newest = ctx.newest or datetime.now(UTC)
    last = f.end or newest.astimezone(ZONE).date()
    first = f.start or last - timedelta(days=DEFAULT_DAYS - 1)
    stop = datetime.combine(last + timedelta(days=1), time(), ZONE)
    as_of = min(stop, newest) if f.end is None else stop
    return Window(first, last, datetime.combine(first, time(), ZONE), stop, as_of)


def label(value: object) -> str:
    """A value as figure text: plotly would read `<...>` in it as markup, so it is escaped
    (plotly shows `&lt;` as `<`)."""
    return html.escape("" if value is None else str(value), quote=False)


def courses_where(f: Filters, column: str = "course_key", *, course: bool = True
                  ) -> tuple[str, dict[str, Any]]:
    """The condition choosing the filtered courses, and its parameters. Only the clauses of
    the filters given are written, so DuckDB sees a plain `course_key = $course` it can push
    down; the values are always parameters."""
    clauses, params = [], {}
    if course and f.course is not None:
        clauses.append(f"{column} = $course")
        params["course"] = f.course
    if f.platform is not None:
        clauses.append(f"split_part({column}, ':', 1) = $platform")
        params["platform"] = f.platform
    if f.school is not None:
        clauses.append(f"{column} in (select course_key from course_schools "
                       "where school_key = $school)")
        params["school"] = f.school
    return " and ".join(clauses) or "true", params


def scope(f: Filters) -> str:
    """Which courses the numbers cover, in words."""
    if f.course is not None:
        return "this course"
    parts = [f"platform {f.platform}" if f.platform else "",
             f"school {f.school}" if f.school else ""]
    return "courses of " + " and ".join(p for p in parts if p) if any(parts) else "all courses"


def table(columns: Sequence[str], rows: Rows, total: int | None = None,
          link: str | None = None) -> Json:
    """A table as the page draws it; `link` names the column whose value filters the page
    by course when its row is clicked."""
    return {"columns": list(columns), "rows": [list(r) for r in rows[:TABLE_ROWS]],
            "total": len(rows) if total is None else total, "link": link}


def layout(**extra: Any) -> Json:
    """The shared plotly layout: compact, no title (the page has its own), a legend on top."""
    out: Json = {"margin": {"l": 60, "r": 20, "t": 10, "b": 50}, "height": 320,
                 "legend": {"orientation": "h", "y": 1.15}, "font": {"size": 12},
                 "paper_bgcolor": "white", "plot_bgcolor": "white", "autosize": True,
                 "xaxis": {"automargin": True}, "yaxis": {"automargin": True,
                                                          "rangemode": "tozero"}}
    for key, value in extra.items():  # an axis given is added to, not replaced
        out[key] = {**out[key], **value} if key in ("xaxis", "yaxis") else value
    return out


def figure(data: list[Json], **extra: Any) -> Json:
    return {"data": data, "layout": layout(**extra)}


def context(q: Query) -> Context:
    """The newest learning event of the snapshot (None in an empty one)."""
    return Context(q("select max(occurred_at) from learning_events", {})[1][0][0])


# --- panels -------------------------------------------------------------------------------

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
    """course_funnel_between over the date range, summed over the chosen courses."""
    w = window(f, ctx)
    where, params = courses_where(f)
    sums = ", ".join(f"coalesce(sum({s}), 0)::bigint as {s}" for s in FUNNEL_STEPS)
    _, rows = q(f"select {sums} from {q.call('course_funnel_between', w.start, w.stop)} "
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
                              from {q.view("engagement_daily")}
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
        ratio = q(f"""select day, dau / mau from {q.view("engagement_daily")}
                     where course_key = $course and day between $first and $last
                     order by day""", {"course": f.course, **days})[1]
    else:
        ratio = q(f"""select day, stickiness from {q.view("engagement_daily_all")}
                     where day between $first and $last order by day""", days)[1]
    columns, spread = q("""select active_days_30d, count(*) as learners from stickiness
                           group by all order by 1""", {})
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
    columns, rows = q("""select cohort_week, week_number, cohort_size, active_learners,
                                round(retention, 4) as retention
                         from cohort_retention_weekly order by cohort_week, week_number""", {})
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


def freshness(q: Query, f: Filters, ctx: Context) -> Json:
    """freshness: per source and event type."""
    columns, rows = q("""select source, event_type, events, last_received_at,
                                round(100 * source_dead_letter_rate, 2) as dead_letter_pct,
                                round(100 * source_duplicate_rate, 2) as duplicate_pct
                         from freshness order by source, events desc, event_type""", {})
    return {"table": table(columns, rows),
            "note": "Per source and event type: events stored and the latest arrival; per "
                    "source the share of dead letters and of redeliveries."}


def duplicates(q: Query, f: Filters, ctx: Context) -> Json:
    """duplicate_rate per source and day."""
    # Batch days are the consumer's clock, not the events': the last 90 of them.
    columns, rows = q("""select source, day, deliveries, duplicates, rate
                         from duplicate_rate
                         where day > (select max(day) from duplicate_rate) - 90
                         order by source, day""", {})
    sources = sorted({r[0] for r in rows})
    data = [{"type": "scatter", "mode": "lines+markers", "name": label(s),
             "x": [r[1] for r in rows if r[0] == s], "y": [r[4] for r in rows if r[0] == s],
             "line": {"color": COLOURS[i % len(COLOURS)]}} for i, s in enumerate(sources)]
    return {"figure": figure(data, yaxis={"rangemode": "tozero", "tickformat": ".1%"}),
            "table": table(columns, rows[::-1]),
            "note": "Share of deliveries that were redeliveries, per day the consumer wrote "
                    "them (its last 90 days)."}


def dead_letters(q: Query, f: Filters, ctx: Context) -> Json:
    """Dead letters by source and kind (the table itself: kinds are few, bodies not shown)."""
    columns, rows = q("""select source, error_kind, count(*) as dead_letters,
                                max(received_at) as last_received_at
                         from dead_letters group by all order by dead_letters desc, 1, 2""", {})
    data = [{"type": "bar", "x": [label(f"{r[0]} {r[1]}") for r in rows],
             "y": [r[2] for r in rows], "marker": {"color": COLOURS[3]}, "name": "dead letters"}]
    return {"figure": figure(data, xaxis={"type": "category"}) if rows else None,
            "table": table(columns, rows),
            "note": "Messages that could not be decoded, kept with their bytes: "
                    "learnstream replay-dead-letters retries them after a fix."}


def unknown_events(q: Query, f: Filters, ctx: Context) -> Json:
    """unknown_events: types no decoder knows yet."""
    columns, rows = q("""select source, event_type, events, first_seen, last_seen
                         from unknown_events order by events desc, source, event_type""", {})
    return {"table": table(columns, rows),
            "note": "Event types stored but not decoded yet (kept, not errors)."}


def late_events(q: Query, f: Filters, ctx: Context) -> Json:
    """late_events per arrival day and source."""
    columns, rows = q("""select source,
                                cast(timezone('America/Sao_Paulo', received_at) as date) as day,
                                count(*) as late_events, max(delay) as longest_delay
                         from late_events group by all order by day desc, source""", {})
    sources = sorted({r[0] for r in rows})
    data = [{"type": "bar", "name": label(s), "x": [r[1] for r in rows if r[0] == s],
             "y": [r[2] for r in rows if r[0] == s], "marker": {"color": COLOURS[i % 6]}}
            for i, s in enumerate(sources)]
    return {"figure": figure(data, barmode="stack") if rows else None,
            "table": table(columns, rows),
            "note": "Learning events received more than a day after they happened, by the day "
                    "they arrived."}


class Panel(NamedTuple):
    """A named panel: its title, the filters it depends on (its cache key) and its builder."""

    title: str
    uses: frozenset[str]
    build: Callable[[Query, Filters, Context], Json]


COURSES = frozenset({"course", "platform", "school"})
DATES = frozenset({"start", "end"})
PANELS: dict[str, Panel] = {
    "header": Panel("Snapshot", frozenset(), header),
    "courses": Panel("Completion per course", frozenset({"platform", "school"}), courses),
    "funnel_between": Panel("Funnel in the date range", COURSES | DATES, funnel_between),
    "ordered_funnel": Panel("Ordered funnel with a conversion window",
                            COURSES | DATES | {"window_days"}, ordered_funnel),
    "engagement": Panel("Engagement: DAU, WAU, MAU", COURSES | DATES, engagement),
    "stickiness": Panel("Stickiness", frozenset({"course"}) | DATES, stickiness),
    "retention": Panel("Weekly cohort retention", frozenset(), retention),
    "lessons": Panel("Lessons: drop-off", frozenset({"course"}), lessons),
    "completion": Panel("Completion buckets", COURSES, completion),
    "time_to_complete": Panel("Time to complete", COURSES, time_to_complete),
    "at_risk": Panel("At-risk learners", COURSES | DATES | {"min_days"}, at_risk),
    "freshness": Panel("Freshness", frozenset(), freshness),
    "duplicates": Panel("Duplicate rate by day", frozenset(), duplicates),
    "dead_letters": Panel("Dead letters by kind", frozenset(), dead_letters),
    "unknown_events": Panel("Unknown events", frozenset(), unknown_events),
    "late_events": Panel("Late events", frozenset(), late_events),
}
