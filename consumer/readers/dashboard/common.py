"""What every panel shares: the Query it reads through, the filters' days resolved against
the snapshot, the course condition, and the JSON shapes the page draws (tables, plotly
figures). Names from webhooks go into figures only through `label` (escaped): plotly
reads labels as a small HTML-like markup."""

from __future__ import annotations

import html
from collections.abc import Sequence
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

    def view(self, name: str, course: str | None = None) -> str:
        """A name to read view `name` by, computed once per snapshot however many panels
        and filter sets read it (a course click slices it instead of recomputing it). With
        `course`, a name holding at least that course's rows (the whole copy if one was
        made, else only that course's rows, computed once per course): the reader still
        filters by course."""

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
