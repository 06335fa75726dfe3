"""Expected sales views, from the contract and issue 18's definitions, in plain Python:
purchase_funnel (and purchase_funnel_between), buyers_not_started, refunds_by_progress,
time_to_first_lesson, revenue_per_completion.

- A purchase is an invoice x product. An invoice's status now is that of its latest event
  (by event time; the simulator never ties two events of an invoice); it was paid when an
  event says `paid` (the first such), a refund was asked at the first `waiting_refund` or
  `refunded`, and it is refunded when its status now is `refunded`.
- A paid purchase leads to its product's mapped courses; without a mapping, to every course
  its buyer has any event on whose platform is one of the seller's (the platforms of the
  seller's mapped courses; all of them when it has none).
- Per course: the first active event at or after the payment, lessons and course completed
  now (current state), lessons completed before the refund was asked, lessons known (any
  event names them). Steps in order: 1 paid, 2 started, 3 a lesson, 4 half the known
  lessons, 5 the course; each needs the one before.
- "Now" for ages is the newest stored event, learning or commerce.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from consumer.journeys.events import ZONE
from tests.support.oracle.current import rate, state
from tests.support.oracle.facts import Answer, Row, Sold, group, quantile

Mapping = Sequence[tuple[str, str, str]]  # (school_key, product_id, course_key)
BUCKETS = ("none", "<25%", "25-49%", "50-74%", "75-99%", "all")
DAY = 86400


class Purchase(NamedTuple):
    """A paid invoice x product and its best step, first activity and progress bucket."""

    school: str
    invoice: str
    product: str
    buyer: str
    status: str
    paid_at: datetime
    refunded_at: datetime | None
    amount: Decimal
    currency: str
    mapped: bool
    steps: dict[str | None, int]  # per course (None: the fallback, all its courses at once)
    first_activity: datetime | None
    bucket: int


def purchases(sold: Sequence[Sold], mapping: Mapping, rows: Sequence[Row]) -> list[Purchase]:
    """Every purchase that was paid."""
    courses_of = group(mapping, lambda m: (m[0], m[1]))
    platforms = {school: {c.split(":")[0] for _, _, c in ms}
                 for school, ms in group(mapping, lambda m: m[0]).items()}
    by_pair = group((r for r in rows if r.learner and r.course),
                    lambda r: (str(r.learner), str(r.course)))
    known = {c: len({r.lesson for r in rs if r.lesson})
             for c, rs in group((r for r in rows if r.course), lambda r: str(r.course)).items()}
    out = []
    for invoice, events in group(sold, lambda s: s.invoice).items():
        last = max(events, key=lambda s: s.at)
        assert sum(s.at == last.at for s in events) == 1, f"tie in invoice {invoice}"
        paid = [s.at for s in events if s.status == "paid"]
        if not paid:
            continue
        paid_at = min(paid)
        asked = min((s.at for s in events if s.status in ("waiting_refund", "refunded")),
                    default=None)
        for product, amount in last.items:
            mapped = (last.school, product) in courses_of
            if mapped:
                courses = [c for _, _, c in courses_of[(last.school, product)]]
            else:
                allowed = platforms.get(last.school)
                courses = [c for (learner, c) in by_pair if learner == last.buyer
                           and (allowed is None or c.split(":")[0] in allowed)]
            steps: dict[str | None, int] = {}
            firsts, buckets = [], [0]
            for c in courses:
                pair = by_pair.get((last.buyer, c), [])
                first = min((r.at for r in pair if r.active and r.at >= paid_at), default=None)
                lessons, _, completed_at = state(pair)
                before = pair if asked is None else [r for r in pair if r.at < asked]
                done = len(state(before)[0]) if asked is not None else len(lessons)
                step = 1 if first is None else 2 if not lessons else \
                    3 if 2 * len(lessons) < known.get(c, 0) else \
                    4 if completed_at is None else 5
                key = c if mapped else None
                steps[key] = max(steps.get(key, 1), step)
                firsts += [first] if first else []
                buckets.append(_bucket(done, known.get(c, 0)))
            out.append(Purchase(last.school, invoice, product, last.buyer, last.status,
                                paid_at, last.at if last.status == "refunded" else None,
                                amount, last.currency, mapped, steps or {None: 1},
                                min(firsts, default=None), max(buckets)))
    return out


def _bucket(done: int, known: int) -> int:
    if done == 0:
        return 0
    share = Decimal(done) / Decimal(known)
    return 1 if share < Decimal("0.25") else 2 if share < Decimal("0.5") else \
        3 if share < Decimal("0.75") else 4 if share < 1 else 5


def funnel(ps: Sequence[Purchase], as_of: datetime, relation: str) -> Answer:
    """purchase_funnel rows for the purchases `ps`."""
    groups: dict[tuple[str, str, str | None, bool], list[tuple[int, bool]]] = {}
    for p in ps:
        young = p.paid_at + timedelta(days=30) > as_of
        for course, step in p.steps.items():
            groups.setdefault((p.school, p.product, course, p.mapped), []).append((step, young))
    out = []
    names = ("paid", "started", "completed_lesson", "half_course", "completed_course")
    for (school, product, course, mapped), members in groups.items():
        reached = [sum(s >= k for s, _ in members) for k in range(1, 6)]
        for k in range(1, 6):
            stuck = [young for s, young in members if k > 1 and s == k - 1]
            out.append((school, product, course, mapped, k, names[k - 1], reached[k - 1],
                        sum(stuck), len(stuck) - sum(stuck),
                        rate(reached[k - 1], reached[k - 2]) if k > 1 else None))
    return Answer(relation, ("school_key", "product_id", "course_key", "mapped", "step_number",
                             "step", "reached", "in_window", "dropped", "conversion"), out)


def views(sold: Sequence[Sold], mapping: Mapping, rows: Sequence[Row],
          window: tuple[datetime, datetime]) -> list[Answer]:
    """The sales views, and purchase_funnel_between over `window`."""
    ps = purchases(sold, mapping, rows)
    as_of = max(max(r.at for r in rows), max(s.at for s in sold))
    start, stop = window
    between = f"purchase_funnel_between('{start.isoformat()}'::timestamptz, " \
              f"'{stop.isoformat()}'::timestamptz)"
    idle = [(p.school, p.invoice, p.product, p.buyer, p.mapped, p.paid_at,
             int((as_of - p.paid_at).total_seconds() // DAY), as_of < p.paid_at + timedelta(7))
            for p in ps if p.status == "paid" and p.first_activity is None]
    refunds, first, money = [], [], []
    for (school, product, mapped, bucket), g in group(
            ps, lambda p: (p.school, p.product, p.mapped, p.bucket)).items():
        days = [(p.refunded_at - p.paid_at).total_seconds() / DAY for p in g if p.refunded_at]
        refunds.append((school, product, mapped, bucket, BUCKETS[bucket], len(g), len(days),
                        len(days) / len(g), quantile(days, 0.5) if days else None,
                        quantile(days, 0.9) if days else None))
    for (school, product, mapped), g in group(ps, lambda p: (p.school, p.product,
                                                             p.mapped)).items():
        days = [(p.first_activity - p.paid_at).total_seconds() / DAY for p in g
                if p.first_activity]
        first.append((school, product, mapped, len(g), len(days),
                       quantile(days, 0.5) if days else None,
                       quantile(days, 0.9) if days else None))
    for (school, product, currency, month), g in group(
            ps, lambda p: (p.school, p.product, p.currency, _month(p.paid_at))).items():
        paid = sum((p.amount for p in g), Decimal(0))
        refunded = sum((p.amount for p in g if p.status == "refunded"), Decimal(0))
        done = sum(max(p.steps.values()) == 5 for p in g)
        per = ((paid - refunded) / done).quantize(Decimal("0.01"), ROUND_HALF_UP) if done \
            else None
        money.append((school, product, currency, month, len(g), paid, refunded,
                      paid - refunded, done, per))
    return [
        funnel(ps, as_of, "purchase_funnel"),
        funnel([p for p in ps if start <= p.paid_at < stop], as_of, between),
        Answer("buyers_not_started", ("school_key", "invoice_id", "product_id", "buyer_key",
                                      "mapped", "paid_at", "days_since_payment",
                                      "in_withdrawal_period"), idle),
        Answer("refunds_by_progress", (
            "school_key", "product_id", "mapped", "bucket_order", "progress_bucket",
            "purchases", "refunds", "refund_rate", "median_days_to_refund",
            "p90_days_to_refund"), refunds),
        Answer("time_to_first_lesson", ("school_key", "product_id", "mapped", "purchases",
                                        "started", "median_days", "p90_days"), first),
        Answer("revenue_per_completion", (
            "school_key", "product_id", "currency", "month", "purchases", "paid_revenue",
            "refunded_revenue", "net_revenue", "completions", "revenue_per_completion"), money),
    ]


def _month(at: datetime) -> date:
    return at.astimezone(ZONE).date().replace(day=1)
