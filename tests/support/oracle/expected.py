"""The oracle: the expected rows of every view and of the table macros for a list of
deliveries, computed in plain Python from the logical events and the data model alone (no SQL
translated, no decoder used), so a test can hold the pipeline and the views to it.

Floats (rates, means, quantiles, retention) are exact up to rounding; compare them at a
stated precision. Row order is not part of the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from consumer.journeys.deliveries import Delivery
from consumer.journeys.events import START
from tests.support.oracle import current, lessons, macros, periods, purchases
from tests.support.oracle.facts import Answer, facts

# purchase_funnel_between's parameters: a cohort from the third to the seventh week
SALES_WINDOW = (START + timedelta(weeks=2), START + timedelta(weeks=7))


def expected(ds: Sequence[Delivery], received: bool = True,
             mapping: purchases.Mapping = ()) -> list[Answer]:
    """Every view's answer after storing `ds` in this order, with `mapping` (school_key,
    product_id, course_key) in product_courses. With `received` False the columns that
    depend on the receiver's clock (unknown_events first/last seen, pipeline_health
    last_received_at) are left out. The sales views are expected when `ds` holds invoices."""
    f = facts(ds)
    if not f.rows:
        raise ValueError("no learning events: nothing to expect")
    sales = purchases.views(f.sold, mapping, f.rows, SALES_WINDOW) if f.sold else []
    return [*current.views(f.rows, current.pairs(f.rows)), *lessons.views(f.rows),
            periods.engagement_daily(f.rows), periods.engagement_daily_all(f.rows),
            periods.cohort_retention_weekly(f.rows),
            periods.stickiness(f.rows), *periods.raw_views(f.raw, received),
            *macros.views(f.rows), *sales]
