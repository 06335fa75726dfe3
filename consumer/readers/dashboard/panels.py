"""The named panels: each one's SQL over the views and macros of sql/, and the JSON the page
draws from it (a plotly figure, a table, a few numbers, a note).

Every number comes out of DuckDB; Python only arranges rows into figures, and the page only
draws them. Names (courses, lessons, schools) are attacker-controlled text from webhooks:
tables carry them as plain values (the page sets textContent), and in figures, whose
labels plotly reads as a small HTML-like markup, they go through `label` (escaped), never
raw. The raw key of a clickable mark travels in customdata, which plotly never renders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from consumer.readers.dashboard import details, overview, quality, sales
from consumer.readers.dashboard.common import Context, Json, Query
from consumer.readers.dashboard.filters import Filters


class Panel(NamedTuple):
    """A named panel: its title, the filters it depends on (its cache key) and its builder."""

    title: str
    uses: frozenset[str]
    build: Callable[[Query, Filters, Context], Json]


COURSES = frozenset({"course", "platform", "school"})
DATES = frozenset({"start", "end"})
PANELS: dict[str, Panel] = {
    "header": Panel("Snapshot", frozenset(), overview.header),
    "courses": Panel("Completion per course", frozenset({"platform", "school"}), overview.courses),
    "funnel_between": Panel("Funnel in the date range", COURSES | DATES, overview.funnel_between),
    "ordered_funnel": Panel("Ordered funnel with a conversion window",
                            COURSES | DATES | {"window_days"}, overview.ordered_funnel),
    "engagement": Panel("Engagement: DAU, WAU, MAU", COURSES | DATES, overview.engagement),
    "stickiness": Panel("Stickiness", frozenset({"course"}) | DATES, overview.stickiness),
    "retention": Panel("Weekly cohort retention", frozenset(), overview.retention),
    "lessons": Panel("Lessons: drop-off", frozenset({"course"}), details.lessons),
    "completion": Panel("Completion buckets", COURSES, details.completion),
    "time_to_complete": Panel("Time to complete", COURSES, details.time_to_complete),
    "at_risk": Panel("At-risk learners", COURSES | DATES | {"min_days"}, details.at_risk),
    "freshness": Panel("Freshness", frozenset(), quality.freshness),
    "duplicates": Panel("Duplicate rate by day", frozenset(), quality.duplicates),
    "dead_letters": Panel("Dead letters by kind", frozenset(), quality.dead_letters),
    "unknown_events": Panel("Unknown events", frozenset(), quality.unknown_events),
    "late_events": Panel("Late events", frozenset(), quality.late_events),
    # Sales to learning: the date range applies to payments (funnel cohort, buyers).
    "purchase_funnel": Panel("Purchase funnel: paid to completed", COURSES | DATES,
                             sales.purchase_funnel),
    "buyers_not_started": Panel("Buyers who have not started", COURSES | DATES,
                                sales.buyers_not_started),
    "refunds_by_progress": Panel("Refunds by progress", COURSES, sales.refunds_by_progress),
    "time_to_first_lesson": Panel("Time from payment to first activity", COURSES,
                                  sales.time_to_first_lesson),
    "revenue_per_completion": Panel("Net revenue per completion", COURSES,
                                    sales.revenue_per_completion),
}
