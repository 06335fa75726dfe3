"""The data-quality tab: freshness, duplicates, dead letters, unknown and late events."""

from __future__ import annotations

from consumer.readers.dashboard.common import (
    COLOURS,
    Context,
    Json,
    Query,
    figure,
    label,
    table,
)
from consumer.readers.dashboard.filters import Filters


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
