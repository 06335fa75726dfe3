"""The analytics views on a small scenario whose answers are worked out by hand.

T0 is Wednesday 2024-01-10 12:00 UTC, 09:00 in the reporting zone (America/Sao_Paulo,
UTC-3): local day 2024-01-10, in the week starting Monday 2024-01-08.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from msgspec.structs import replace

from consumer.rows import Batch, DeadLetter, Decoded
from consumer.store import Store
from tests.support.rows import T0, learn, raw

DAY = 24 * 60
C1 = "alpaclass:c1"
EVENTS = [  # (learner, action, minutes after T0, lesson)
    ("a@x", "lesson_completed", 0, "l1"),
    ("a@x", "lesson_favorited", 1, "l1"),
    ("a@x", "lesson_rated", 2, "l1"),
    ("a@x", "comment_created", 3, "l1"),
    ("b@x", "lesson_completed", DAY, "l1"),
    ("b@x", "lesson_favorited", DAY, "l2"),
    ("b@x", "lesson_uncompleted", 2 * DAY, "l1"),
    ("b@x", "lesson_unfavorited", 3 * DAY, "l2"),
    ("b@x", "lesson_seen", 3 * DAY, "l2"),
    ("c@x", "course_seen", 20 * DAY, None),
]


@pytest.fixture(scope="module")
def store() -> Store:
    db = Store(":memory:")
    batch = Batch()
    for i, (learner, action, minutes, lesson) in enumerate(EVENTS):
        row = learn(f"e{i}", i, action, minutes, learner=learner, course=C1,
                    lesson=f"alpaclass:{lesson}" if lesson else None)
        if action == "lesson_rated":
            row = replace(row, rating=4.0)
        batch.add(0, i, Decoded(raw(f"e{i}", i), [row], [], None))
    n = len(EVENTS)
    batch.add(0, n, Decoded(replace(raw("eduzz:new", n), event_type="brand.new"), [], [], None))
    batch.add(0, n + 1, Decoded(None, [], [], DeadLetter(0, n + 1, T0, "toolzz", "invalid_json",
                                                         "x", b"{")))
    db.write(batch, "t")
    return db


def rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return store.query(sql)[1]


def test_lesson_funnel_counts_current_completions_and_active_learners(store):
    assert rows(store, """select course_key, lesson_key, learners_completed, learners_seen,
                                 round(share_of_course_learners, 4)
                          from lesson_funnel order by lesson_key""") == [
        (C1, "alpaclass:l1", 1, 2, round(1 / 3, 4)),  # b un-completed l1 later
        (C1, "alpaclass:l2", 0, 1, 0.0)]


def test_lesson_engagement_uses_current_favourites(store):
    assert rows(store, """select lesson_key, completions, favorites, ratings, avg_rating,
                                 comments from lesson_engagement order by lesson_key""") == [
        ("alpaclass:l1", 1, 1, 1, 4.0, 1),
        ("alpaclass:l2", 0, 0, 0, None, 0)]  # b un-favourited l2


def test_at_risk_is_measured_from_the_newest_event_after_aggregating(store):
    # c was active on the newest day (T0 + 20 days): not at risk
    assert rows(store, """select learner_key, course_key, last_activity_at, days_inactive
                          from at_risk_learners order by learner_key""") == [
        ("a@x", C1, T0 + timedelta(minutes=3), 19),
        ("b@x", C1, T0 + timedelta(days=3), 17)]


def test_engagement_daily_in_the_reporting_zone_with_trailing_windows(store):
    assert rows(store, "select day, dau, wau, mau, events from engagement_daily "
                       "order by day") == [
        (date(2024, 1, 10), 1, 1, 1, 4),
        (date(2024, 1, 11), 1, 2, 2, 2),
        (date(2024, 1, 12), 1, 2, 2, 1),
        (date(2024, 1, 13), 1, 2, 2, 2),
        (date(2024, 1, 30), 1, 1, 3, 1)]  # a and b are outside the week, inside the month


def test_cohort_retention_weekly_by_first_active_week(store):
    assert rows(store, """select cohort_week, week_number, cohort_size, active_learners,
                                 retention from cohort_retention_weekly
                          order by cohort_week, week_number""") == [
        (date(2024, 1, 8), 0, 2, 2, 1.0),
        (date(2024, 1, 29), 0, 1, 1, 1.0)]


def test_a_day_boundary_in_the_reporting_zone_not_utc():
    db = Store(":memory:")
    late = T0.replace(hour=2)  # 2024-01-10 02:00 UTC is 2024-01-09 23:00 in Sao Paulo
    b = Batch()
    row = replace(learn("e0", 0, "course_seen", course=C1), occurred_at=late)
    b.add(0, 0, Decoded(raw("e0", 0), [row], [], None))
    db.write(b, "t")
    assert rows(db, "select day from engagement_daily") == [(date(2024, 1, 9),)]


def test_pipeline_health_per_source(store):
    assert rows(store, """select source, events, last_received_at, dead_letters,
                                 unknown_events from pipeline_health order by source""") == [
        ("eduzz", len(EVENTS) + 1, T0, 0, 1),
        ("toolzz", 0, None, 1, 0)]


CONTRACT_VIEWS = ["learner_course_progress", "course_funnel", "lesson_funnel",
                  "engagement_daily", "at_risk_learners", "cohort_retention_weekly",
                  "lesson_engagement", "unknown_events", "pipeline_health",
                  "time_to_complete", "completion_buckets", "stickiness", "late_events",
                  "freshness"]


def every_view(order: list[int]) -> dict[str, list[tuple[object, ...]]]:
    """Every contract view after the scenario's events arrive in `order`."""
    db = Store(":memory:")
    batch = Batch()
    for offset, i in enumerate(order):
        learner, action, minutes, lesson = EVENTS[i]
        row = learn(f"e{i}", offset, action, minutes, learner=learner, course=C1,
                    lesson=f"alpaclass:{lesson}" if lesson else None)
        if action == "lesson_rated":
            row = replace(row, rating=4.0)
        batch.add(0, offset, Decoded(raw(f"e{i}", offset), [row], [], None))
    db.write(batch, "t")
    return {view: rows(db, f"select * from {view} order by all") for view in CONTRACT_VIEWS}


def test_every_view_gives_the_same_answer_whatever_the_arrival_order():
    import random

    natural = list(range(len(EVENTS)))
    expected = every_view(natural)
    assert all(expected[v] for v in CONTRACT_VIEWS
               if v not in ("unknown_events", "time_to_complete", "late_events"))
    shuffler = random.Random(20261125)
    for _ in range(5):
        order = natural[:]
        shuffler.shuffle(order)
        assert every_view(order) == expected, order
    assert every_view(natural[::-1]) == expected


def test_at_risk_macro_sees_the_state_as_it_was(store):
    # Ten days after T0: a (last active T0+3m) and b (T0+3d) were idle 9 and 7 days.
    as_of = "2024-01-20 12:00:00+00"
    assert rows(store, f"select learner_key, days_inactive from at_risk('{as_of}', 7) "
                       "order by 1") == [("a@x", 9), ("b@x", 7)]
    assert rows(store, f"select learner_key from at_risk('{as_of}', 8)") == [("a@x",)]
    # c's event (T0 + 20 days) is after as_of: c did not exist yet.
    assert rows(store, "select count(*) from at_risk('2024-01-10 11:00:00+00', 0)") == [(0,)]
    # Same threshold at the newest event gives the view's answer.
    assert rows(store, "select * from at_risk('2024-01-30 12:00:00+00', 7) order by all") == \
        rows(store, "select * from at_risk_learners order by all")


def test_late_events_and_freshness(store):
    # Every scenario event was received at T0, never more than a day after it occurred.
    assert rows(store, "select count(*) from late_events") == [(0,)]
    assert rows(store, """select source, event_type, events, source_dead_letters,
                                 round(source_dead_letter_rate, 4) from freshness
                          order by all""") == [
        ("eduzz", "alpaclass.x", len(EVENTS), 0, 0.0),
        ("eduzz", "brand.new", 1, 0, 0.0)]


def test_late_event_is_listed():
    db = Store(":memory:")
    b = Batch()
    # Occurred at T0, received three days later: the raw row and its learning row share
    # the receiver's time, as the decoder makes them.
    row = replace(learn("e0", 0, "course_seen", course=C1), received_at=T0 + timedelta(days=3))
    b.add(0, 0, Decoded(replace(raw("e0", 0), received_at=T0 + timedelta(days=3)), [row], [],
                        None))
    db.write(b, "t")
    assert rows(db, "select event_uid, delay, delay_seconds from late_events") == [
        ("e0", timedelta(days=3), 3 * 86400.0)]
    # A number, so DataFrame libraries that cannot read an INTERVAL (polars) get the delay.
    assert rows(db, "select typeof(delay_seconds) from late_events") == [("DOUBLE",)]


def test_stickiness_and_completion_buckets(store):
    # The 30 days up to T0 + 20 days hold every scenario event: a 1 day, b 3, c 1.
    assert rows(store, "select * from stickiness order by 1") == [
        ("a@x", 1), ("b@x", 3), ("c@x", 1)]
    # c1's known lessons: l1 and l2. a has l1 completed now (50%); b and c none.
    assert rows(store, "select * from completion_buckets order by all") == [
        (C1, 0, 2), (C1, 50, 1)]


def test_stickiness_counts_30_calendar_days_never_a_31st():
    # Newest event at T0 + 30 days (09:00 local); a learner active at T0 + 1 hour, 10:00 local
    # 30 days earlier: inside a 30 x 24 h window, but on the 31st calendar day back.
    db = Store(":memory:")
    b = Batch()
    for i, (learner, minutes) in enumerate([("a@x", 60), ("a@x", 29 * DAY), ("b@x", 30 * DAY)]):
        b.add(0, i, Decoded(raw(f"e{i}", i), [learn(f"e{i}", i, "course_seen", minutes,
                                                     learner=learner)], [], None))
    db.write(b, "t")
    assert rows(db, "select * from stickiness order by 1") == [("a@x", 1), ("b@x", 1)]


def test_time_to_complete_median_and_p90():
    db = Store(":memory:")
    b = Batch()
    for i, (learner, action, minutes) in enumerate([
            ("x@x", "course_seen", 0), ("x@x", "course_completed", 2 * DAY),
            ("y@x", "course_seen", 0), ("y@x", "course_completed", 10 * DAY),
            ("z@x", "course_seen", DAY), ("z@x", "course_completed", 4 * DAY),
            ("w@x", "course_seen", 0), ("w@x", "course_completed", DAY),
            ("w@x", "course_uncompleted", 2 * DAY)]):  # w is not complete now
        b.add(0, i, Decoded(raw(f"e{i}", i), [learn(f"e{i}", i, action, minutes,
                                                    learner=learner, course=C1)], [], None))
    db.write(b, "t")
    ((course, learners, median, p90),) = rows(db, "select * from time_to_complete")
    assert (course, learners) == (C1, 3)
    assert median == pytest.approx(3.0)  # of 2, 3 and 10 days
    assert p90 == pytest.approx(3 + 0.8 * (10 - 3))


def test_engagement_macro_as_of_a_moment(store):
    # 2024-01-13 15:00 UTC is noon on 2024-01-13 in Sao Paulo: b active that day, a in the week.
    assert rows(store, "select * from engagement('2024-01-13 15:00:00+00')") == [
        (C1, date(2024, 1, 13), 1, 2, 2)]
    # At the newest event it agrees with engagement_daily's last row.
    assert rows(store, "select course_key, day, dau, wau, mau from "
                       "engagement('2024-01-30 12:00:00+00')") == rows(
        store, "select course_key, day, dau, wau, mau from engagement_daily "
               "where day = date '2024-01-30'")


def test_course_funnel_between_counts_only_the_window(store):
    # [T0, T0 + 1 day + 1 minute): a's four events and b's completion of l1 (b un-completes
    # it only on day 2, outside the window).
    window = rows(store, "select * from course_funnel_between('2024-01-10 12:00:00+00', "
                         "'2024-01-11 12:01:00+00')")
    assert window == [(C1, 2, 0, 2, 2, 0, 0)]
    # Over all time it is course_funnel.
    assert rows(store, "select * from course_funnel_between('2000-01-01', '2100-01-01')") == \
        rows(store, """select course_key, learners, enrolled, started, completed_lesson,
                              completed_module, completed_course from course_funnel""")


Event = tuple[str, int, str | None, str, int]


def ev(action: str, day: int, item: str | None = None, learner: str = "a",
       partition: int = 0) -> Event:
    """One event of a WINDOW_CASES case; lesson and module keys are bare ids."""
    return action, day, item, learner, partition


# Completion inside the window [T0, T0 + 10 days), one course per case, events in arrival
# order. case: (events, (learners, enrolled, started, lesson, module, course completed now))
WINDOW_CASES: dict[str, tuple[list[Event], tuple[int, ...]]] = {
    "redone": ([ev("lesson_completed", 1, "l1"), ev("lesson_uncompleted", 2, "l1"),
                ev("lesson_completed", 3, "l1")], (1, 0, 1, 1, 0, 0)),
    "undone": ([ev("lesson_completed", 1, "l1"), ev("lesson_uncompleted", 2, "l1")],
               (1, 0, 1, 0, 0, 0)),
    # the latest event un-completes l2; l1 stays completed
    "other_item": ([ev("lesson_completed", 1, "l1"), ev("lesson_completed", 2, "l2"),
                    ev("lesson_uncompleted", 3, "l2")], (1, 0, 1, 1, 0, 0)),
    # un-completed before the window, completed inside: completed now
    "undone_before": ([ev("lesson_uncompleted", -1, "l1"), ev("lesson_completed", 1, "l1")],
                      (1, 0, 1, 1, 0, 0)),
    # completions before the window do not count, un-completed inside or not
    "done_before": ([ev("lesson_completed", -2, "l1"), ev("lesson_completed", -1, "l2"),
                     ev("lesson_uncompleted", 1, "l1")], (1, 0, 1, 0, 0, 0)),
    "undone_after": ([ev("lesson_completed", 1, "l1"), ev("lesson_uncompleted", 11, "l1")],
                     (1, 0, 1, 1, 0, 0)),
    # the same occurred_at: arrival decides, partition before offset
    "tie_done_last": ([ev("lesson_uncompleted", 1, "l1"), ev("lesson_completed", 1, "l1")],
                      (1, 0, 1, 1, 0, 0)),
    "tie_undone_last": ([ev("lesson_completed", 1, "l1"), ev("lesson_uncompleted", 1, "l1")],
                        (1, 0, 1, 0, 0, 0)),
    "tie_partition": ([ev("lesson_uncompleted", 1, "l1", partition=1),
                       ev("lesson_completed", 1, "l1")], (1, 0, 1, 0, 0, 0)),
    # one key on two levels: un-completing module x1 leaves lesson x1 completed; un-completing
    # the course leaves module m1 completed
    "levels": ([ev("lesson_completed", 1, "x1"), ev("module_uncompleted", 2, "x1"),
                ev("module_completed", 1, "m1"), ev("course_uncompleted", 2)],
               (1, 0, 1, 1, 1, 0)),
    "module_course": ([ev("module_completed", 1, "m1"), ev("module_uncompleted", 2, "m1"),
                       ev("course_completed", 3), ev("course_uncompleted", 4),
                       ev("course_completed", 5)], (1, 0, 1, 0, 0, 1)),
    "no_lesson_key": ([ev("lesson_completed", 1)], (1, 0, 1, 0, 0, 0)),
    "not_started": ([ev("enrolled", 1), ev("inactivity_flagged", 2, learner="b")],
                    (2, 1, 0, 0, 0, 0)),
    # b un-completing l1 does not touch a's l1 (and a's l1 recurs in the other courses)
    "learners": ([ev("lesson_completed", 1, "l1"), ev("lesson_uncompleted", 2, "l1", "b")],
                 (2, 0, 2, 1, 0, 0)),
}


def test_course_funnel_between_takes_the_latest_completion_event_inside_the_window():
    db = Store(":memory:")
    batch, offsets = Batch(), {0: 0, 1: 0}
    for case, (events, _) in WINDOW_CASES.items():
        for action, day, item, learner, partition in events:
            offset = offsets[partition] = offsets[partition] + 1
            uid = f"{case}-{partition}-{offset}"
            key = f"alpaclass:{item}" if item else None
            level = action.split("_")[0]
            row = learn(uid, offset, action, day * DAY, learner=f"{learner}@x",
                        course=f"alpaclass:{case}", partition=partition,
                        lesson=key if level == "lesson" else None,
                        module=key if level == "module" else None)
            batch.add(partition, offset, Decoded(raw(uid, offset, partition), [row], [], None))
    db.write(batch, "t")
    got = rows(db, "select * from course_funnel_between('2024-01-10 12:00:00+00', "
                   "'2024-01-20 12:00:00+00') order by course_key")
    assert got == [(f"alpaclass:{case}", *want) for case, (_, want) in sorted(WINDOW_CASES.items())]
    # Over all time it is course_funnel, whose completion state is computed another way.
    assert rows(db, "select * from course_funnel_between('2000-01-01', '2100-01-01') "
                    "order by course_key") == \
        rows(db, """select course_key, learners, enrolled, started, completed_lesson,
                           completed_module, completed_course from course_funnel
                    order by course_key""")


def test_ordered_funnel_with_a_conversion_window():
    db = Store(":memory:")
    journeys = [  # learner, action, days after T0
        ("p@x", "enrolled", 0), ("p@x", "lesson_started", 1), ("p@x", "lesson_completed", 2),
        ("p@x", "course_completed", 3),
        ("q@x", "enrolled", 0), ("q@x", "course_seen", 1),
        ("q@x", "lesson_completed", 10),  # after q's 7-day window closed: dropped at step 3
        ("r@x", "enrolled", 28),  # window open until day 35, as_of is day 30: in_window
        ("s@x", "lesson_completed", 0), ("s@x", "enrolled", 1), ("s@x", "course_seen", 2),
        ("u@x", "course_seen", 5),  # never enrolled: not in the funnel
    ]
    b = Batch()
    for i, (learner, action, days) in enumerate(journeys):
        b.add(0, i, Decoded(raw(f"e{i}", i), [learn(f"e{i}", i, action, days * DAY,
                                                    learner=learner, course=C1)], [], None))
    db.write(b, "t")
    as_of = (T0 + timedelta(days=30)).isoformat()
    got = rows(db, f"select * from ordered_funnel(7, '{as_of}') order by step_number")
    assert got == [
        (C1, 1, "enrolled", 4, 0, 0, None),
        (C1, 2, "started", 3, 1, 0, 0.75),
        (C1, 3, "completed_lesson", 1, 0, 2, pytest.approx(1 / 3)),  # s's lesson came first
        (C1, 4, "completed_course", 1, 0, 0, 1.0)]



# Window 7 days, as_of T0 + 30 days, one course per case; learner a is the same person on
# every course, so a's events on one course must not count on another. Events as (learner,
# action, days after T0), then the expected (reached, in_window, dropped) per step.
ORDERED_CASES: dict[str, tuple[list[tuple[str, str, float]], list[tuple[int, int, int]]]] = {
    "same_instant": ([("a", "enrolled", 0), ("a", "lesson_completed", 0),
                      ("a", "course_completed", 0)], [(1, 0, 0)] * 4),
    # the lesson came before the enrolment: started (course_seen) but no lesson in order
    "lesson_first": ([("a", "lesson_completed", -1), ("a", "enrolled", 0),
                      ("a", "course_seen", 1), ("a", "course_completed", 2)],
                     [(1, 0, 0), (1, 0, 0), (0, 0, 1), (0, 0, 0)]),
    # the course completion came before the lesson, both in the window
    "course_first": ([("a", "enrolled", 0), ("a", "course_completed", 1),
                      ("a", "lesson_completed", 2)],
                     [(1, 0, 0), (1, 0, 0), (1, 0, 0), (0, 0, 1)]),
    # the window runs from the first enrolment; a second one and an inactivity flag do not start
    "enrolled_twice": ([("a", "enrolled", 0), ("a", "inactivity_flagged", 1),
                        ("a", "enrolled", 10), ("a", "lesson_completed", 11)],
                       [(1, 0, 0), (0, 0, 1), (0, 0, 0), (0, 0, 0)]),
    # window open at as_of; the lesson after as_of does not count yet
    "after_as_of": ([("a", "enrolled", 28), ("a", "lesson_completed", 31)],
                    [(1, 0, 0), (0, 1, 0), (0, 0, 0), (0, 0, 0)]),
    "open_at_step_4": ([("a", "enrolled", 27), ("a", "lesson_completed", 28)],
                       [(1, 0, 0), (1, 0, 0), (1, 0, 0), (0, 1, 0)]),
    # the window closes exactly at as_of: its last instant counts, and it is closed
    "closes_at_as_of": ([("a", "enrolled", 23), ("a", "course_seen", 30)],
                        [(1, 0, 0), (1, 0, 0), (0, 0, 1), (0, 0, 0)]),
    # a lesson on the window's last instant counts, a course completion a minute later does not
    "window_edge": ([("a", "enrolled", 0), ("a", "lesson_completed", 7),
                     ("a", "course_completed", 7 + 1 / DAY)],
                    [(1, 0, 0), (1, 0, 0), (1, 0, 0), (0, 0, 1)]),
    # b's lesson is not a's; b never enrolled
    "other_learner": ([("a", "enrolled", 0), ("b", "lesson_completed", 1)],
                      [(1, 0, 0), (0, 0, 1), (0, 0, 0), (0, 0, 0)]),
    "never_enrolled": ([("a", "lesson_completed", 1)], []),
}


def test_ordered_funnel_takes_each_step_in_order_inside_the_first_window():
    db = Store(":memory:")
    b, offset = Batch(), 0
    for case, (events, _) in ORDERED_CASES.items():
        for learner, action, days in events:
            offset += 1
            row = learn(f"o{offset}", offset, action, round(days * DAY), learner=f"{learner}@x",
                        course=f"alpaclass:{case}")
            b.add(0, offset, Decoded(raw(f"o{offset}", offset), [row], [], None))
    db.write(b, "t")
    as_of = (T0 + timedelta(days=30)).isoformat()
    got = rows(db, f"""select course_key, step_number, reached, in_window, dropped
                       from ordered_funnel(7, '{as_of}') order by course_key, step_number""")
    assert got == [(f"alpaclass:{case}", i + 1, *step)
                   for case, (_, want) in sorted(ORDERED_CASES.items())
                   for i, step in enumerate(want)]
