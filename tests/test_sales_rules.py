"""The sales views' rules by hand, on real DuckDB: the invoice current-state rule whatever
the arrival order, the payment edge of "since payment", the 7-day and 30-day edges, the
fallback without a mapping, progress before the refund was asked, DECIMAL money per currency.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from consumer.ops import products
from consumer.rows import Batch, CommerceRow, Decoded, LearningRow, RawRow
from consumer.store import Store

T0 = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
SELLER = "myeduzz:1"
_offsets = itertools.count()


def sale(invoice: str, status: str, at: datetime, *, buyer: str = "ana@x.com",
         product: str = "p1", amount: str = "100.00", currency: str = "BRL",
         seller: str = SELLER) -> CommerceRow:
    return CommerceRow(f"eduzz:{invoice}-{status}", "myeduzz", f"myeduzz.invoice_{status}", at,
                       buyer_key=buyer, invoice_id=invoice, status=status,
                       product_ids=[product], amount=Decimal(amount), currency=currency,
                       school_key=seller, product_amounts=[Decimal(amount)])


def learn(action: str, at: datetime, *, learner: str = "ana@x.com",
          course: str = "toolzz:c1", lesson: str | None = None) -> LearningRow:
    return LearningRow(f"l:{next(_offsets)}", course.split(":")[0], "x", action, at, at,
                       learner_key=learner, course_key=course, lesson_key=lesson)


def put(store: Store, *rows: CommerceRow | LearningRow) -> None:
    """Store each row as one delivery, in the order given (the arrival order)."""
    batch = Batch()
    for row in rows:
        n = next(_offsets)
        row = type(row)(**{**{f: getattr(row, f) for f in row.__struct_fields__},
                           "kafka_offset": n})
        raw = RawRow(row.event_uid, "eduzz", row.event_type, row.occurred_at, None, "{}", 0, n)
        commerce = [row] if isinstance(row, CommerceRow) else []
        learning = [row] if isinstance(row, LearningRow) else []
        batch.add(0, n, Decoded(raw, learning, commerce, None))
    store.write(batch, "t")


@pytest.fixture
def store():
    s = Store(":memory:")
    products.add(s, [("p1", "toolzz:c1", SELLER)])
    yield s
    s.close()


def q(store: Store, sql: str) -> list[tuple]:
    return store.query(sql)[1]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_paid_then_refunded_is_refunded_in_every_arrival_order(store, order):
    events = [sale("i1", "open", T0 - timedelta(minutes=5)), sale("i1", "paid", T0),
              sale("i1", "refunded", T0 + timedelta(days=2))]
    put(store, *(events[i] for i in order))
    assert q(store, "select status, paid_at, refund_asked_at, refunded_at from purchases") == [
        ("refunded", T0, T0 + timedelta(days=2), T0 + timedelta(days=2))]
    assert q(store, "select net_revenue, refunded_revenue from revenue_per_completion") == [
        (Decimal("0.00"), Decimal("100.00"))]


def test_first_activity_is_the_first_since_payment(store):
    put(store, learn("lesson_completed", T0 - timedelta(hours=1), lesson="l1"),
        learn("inactivity_flagged", T0 + timedelta(hours=1)),  # not activity
        learn("lesson_completed", T0 + timedelta(hours=2), lesson="l2"),
        sale("i1", "paid", T0))
    assert q(store, "select first_activity_at, lessons_completed, step from purchase_courses"
             ) == [(T0 + timedelta(hours=2), 2, 4)]
    assert q(store, "select started, median_days from time_to_first_lesson") == [(1, 2 / 24)]
    assert q(store, "select count(*) from buyers_not_started") == [(0,)]


def test_activity_only_before_payment_is_not_started(store):
    put(store, learn("lesson_completed", T0 - timedelta(seconds=1), lesson="l1"),
        sale("i1", "paid", T0))
    assert q(store, "select buyer_key, days_since_payment from buyers_not_started") == [
        ("ana@x.com", 0)]


@pytest.mark.parametrize(("age", "inside"), [(timedelta(days=7), False),
                                             (timedelta(days=7) - timedelta(seconds=1), True)])
def test_withdrawal_period_is_seven_days_to_the_newest_event(store, age, inside):
    put(store, sale("i1", "paid", T0), sale("i2", "paid", T0 + age, buyer="other@x.com"))
    assert q(store, "select days_since_payment, in_withdrawal_period from buyers_not_started "
                    "where invoice_id = 'i1'") == [(age.days, inside)]


@pytest.mark.parametrize(("age", "open_"), [(timedelta(days=30), False),
                                            (timedelta(days=30) - timedelta(seconds=1), True)])
def test_funnel_window_is_thirty_days(store, age, open_):
    put(store, sale("i1", "paid", T0), learn("course_seen", T0 + age))
    assert q(store, "select step, reached, in_window, dropped from purchase_funnel "
                    "where step_number <= 3 order by step_number") == [
        ("paid", 1, 0, 0), ("started", 1, 0, 0),
        ("completed_lesson", 0, int(open_), int(not open_))]


# Paid 2024-10-30 12:00 UTC: 7 and 30 days later are past New York's DST end (2024-11-03),
# where adding calendar days in that session time zone adds an hour more than 24 h a day.
T_DST = datetime(2024, 10, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_windows_are_days_of_24_hours_whatever_the_session_time_zone(store, zone):
    store.query(f"set TimeZone = '{zone}'")
    put(store, sale("i1", "paid", T_DST), sale("i2", "paid", T_DST + timedelta(days=7),
                                               buyer="other@x.com"))
    assert q(store, "select days_since_payment, in_withdrawal_period from buyers_not_started "
                    "where invoice_id = 'i1'") == [(7, False)]
    put(store, learn("course_seen", T_DST + timedelta(days=30)))
    assert q(store, "select in_window, dropped from purchase_funnel where product_id = 'p1' "
                    "and step = 'completed_lesson'") == [(0, 1)]


def test_fallback_follows_the_sellers_platforms(store):
    put(store, sale("i1", "paid", T0, product="unmapped"),
        learn("lesson_completed", T0 + timedelta(hours=1), course="alpaclass:a", lesson="l"),
        sale("i2", "paid", T0, product="ebook", seller="myeduzz:2", buyer="bia@x.com"),
        learn("lesson_completed", T0 + timedelta(hours=3), course="alpaclass:a", lesson="l",
              learner="bia@x.com"))
    # Seller 1 teaches on toolzz (its mapping says so): alpaclass activity is not its course.
    # Seller 2 has no mapping at all: any platform counts.
    assert q(store, "select invoice_id, mapped from buyers_not_started") == [("i1", False)]
    assert q(store, "select product_id, course_key, mapped, reached from purchase_funnel "
                    "where step = 'started' order by 1") == [
        ("ebook", None, False, 1), ("unmapped", None, False, 0)]
    put(store, learn("course_seen", T0 + timedelta(hours=2), course="toolzz:other"))
    assert q(store, "select count(*) from buyers_not_started") == [(0,)]


def test_progress_is_what_was_completed_before_the_refund_was_asked(store):
    lessons = [learn("lesson_completed", T0 + timedelta(hours=h), lesson=f"l{h}")
               for h in (1, 2, 5, 6)]
    put(store, sale("i1", "paid", T0), *lessons[:2],
        learn("lesson_uncompleted", T0 + timedelta(hours=2, minutes=30), lesson="l2"),
        learn("lesson_completed", T0 + timedelta(hours=3, minutes=30), lesson="l5"),  # asked
        sale("i1", "waiting_refund", T0 + timedelta(hours=3, minutes=30)),
        sale("i1", "refunded", T0 + timedelta(days=1, hours=3, minutes=30)), *lessons[2:])
    # 1 of 4 known lessons held when asked (l2 undone): 25%, whatever came after.
    assert q(store, "select progress_bucket, purchases, refunds, median_days_to_refund "
                    "from refunds_by_progress") == [("25-49%", 1, 1, 1 + 3.5 / 24)]


def test_money_stays_decimal_per_currency_rounded_half_up(store):
    def completed(learner: str, lesson_at: datetime) -> list[LearningRow]:
        return [learn("lesson_completed", lesson_at, learner=learner, lesson="l1"),
                learn("course_completed", lesson_at + timedelta(minutes=1), learner=learner)]

    put(store, sale("i1", "paid", T0, amount="0.02"), *completed("ana@x.com", T0 + timedelta(1)),
        sale("i2", "paid", T0, amount="0.03", buyer="bia@x.com"),
        *completed("bia@x.com", T0 + timedelta(1)),
        sale("i3", "paid", T0, amount="100.00", currency="USD", buyer="caio@x.com"),
        *completed("caio@x.com", T0 + timedelta(1)),
        sale("i4", "paid", T0, amount="100.00", currency="USD", buyer="duda@x.com"),
        *completed("duda@x.com", T0 + timedelta(1)),
        sale("i5", "paid", T0, amount="100.00", currency="USD", buyer="edu@x.com"),
        *completed("edu@x.com", T0 + timedelta(1)))
    rows = q(store, "select currency, paid_revenue, completions, revenue_per_completion "
                    "from revenue_per_completion order by currency")
    # 0.05 / 2 = 0.025 -> 0.03 (half up); 300.00 / 3 = 100.00; never one sum of both.
    assert rows == [("BRL", Decimal("0.05"), 2, Decimal("0.03")),
                    ("USD", Decimal("300.00"), 3, Decimal("100.00"))]
    assert all(type(v) is Decimal for r in rows for v in (r[1], r[3]))


def test_mapping_is_kept_when_derived_tables_are_rebuilt(tmp_path):
    from consumer.ops.repair import rebuild
    from consumer.settings import ConsumerSettings

    settings = ConsumerSettings(data_dir=str(tmp_path))
    s = Store(settings.db_path)
    products.add(s, [("p1", "toolzz:c1", SELLER)])
    s.close()
    rebuild(settings)
    s = Store(settings.db_path)
    assert q(s, "select school_key, product_id, course_key from product_courses") == [
        (SELLER, "p1", "toolzz:c1")]
    s.close()
