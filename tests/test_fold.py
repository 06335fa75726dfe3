"""When and how much the consumer folds (consumer/store/state.py, consumer/snapshot.py): the
engagement terms stay exact whatever days the pending events fall on, and a snapshot folds
first, so readers get few pending rows (real DuckDB)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import duckdb

from consumer.journeys import journeys
from consumer.snapshot import Snapshots, publish
from consumer.store import Store, db
from consumer.store.state import STATES
from tests.support.oracle import expected
from tests.support.rows import T0, batch_of, learn, raw
from tests.support.simulated import (
    SMALL,
    assert_dashboard_states_folded,
    assert_engagement_terms_folded,
    assert_folded_as_at_once,
    assert_views,
    load,
    rows_of,
)

DAY = 24 * 60
ENGAGEMENT = "select * from engagement_daily order by all"


def spread_events(seed: int) -> list[tuple[str, int, str]]:
    """(learner, minutes after T0, course) of events over two years: some learners active
    every few days, some in bursts months apart (pending days far from their folded ones),
    some on two courses the same day."""
    rng = random.Random(seed)
    out = []
    for n in range(12):
        learner = f"l{n}@x"
        bursts = [rng.randrange(0, 700) for _ in range(rng.randint(1, 4))]
        for start in bursts:
            for _ in range(rng.randint(1, 12)):
                day = start + rng.choice((0, 0, 1, 3, 7, 8, 29, 30, 31, 45, 61, 62))
                out.append((learner, day * DAY + rng.randrange(DAY),
                            rng.choice(("alpaclass:c1", "alpaclass:c2"))))
    return out


def test_engagement_terms_fold_exactly_whatever_days_the_pending_events_fall_on():
    """Events far apart and close together, in random order and random chunks, folded after
    every chunk, every few chunks (rows of several chunks pending, read merged with the
    folded ones) or never: the folded terms equal those of all days at once, and the views
    read the same as with everything folded at once."""
    for seed in range(3):
        events = spread_events(seed)
        order = list(range(len(events)))
        random.Random(seed).shuffle(order)
        answers = []
        # 40, not 7: chunks hold 1-25 rows, so 7 folded after nearly every chunk, as 1 does
        # (a fold costs ~0.3 s even this small, and 7 made half of this test's folds).
        for fold_at in (1, 40, 10**9):
            store = Store(":memory:", fold_at=fold_at)
            rng = random.Random(seed + 100)
            i = 0
            while i < len(order):
                chunk = order[i:i + rng.randint(1, 25)]
                store.write(batch_of(*((raw(f"e{k}", k), [learn(
                    f"e{k}", k, "lesson_started", events[k][1], lesson="x", learner=events[k][0],
                    course=events[k][2])]) for k in chunk)), "t")
                i += len(chunk)
            answers.append(store.query(ENGAGEMENT)[1])
            store.fold()
            assert_engagement_terms_folded(store)
            answers.append(store.query(ENGAGEMENT)[1])
            store.close()
        assert answers[0] and all(a == answers[0] for a in answers), seed


def pending(path: object) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("select count(*) from learning_events "
                          "where stored_seq >= fold_since()").fetchone()
        return int(row[0]) if row else -1


def test_a_snapshot_folds_first_once_enough_rows_are_pending(tmp_path):
    """Fewer than `fold_first` pending rows stay pending in the snapshot (a fold's cost is
    mostly fixed); from `fold_first` on they are folded before the copy. The views read the
    same either way."""
    store = Store(tmp_path / "learnstream.duckdb", fold_at=10**9)
    dest = tmp_path / "analytics.duckdb"
    store.write(batch_of(*((raw(f"e{i}", i), [learn(f"e{i}", i, "lesson_completed", i * 600,
                                                     lesson=f"l{i % 4}")])
                           for i in range(10))), "t")
    publish(store, dest, fold_first=11)
    assert pending(dest) == 10
    with duckdb.connect(str(dest), read_only=True) as con:
        assert con.execute(ENGAGEMENT).fetchall() == store.query(ENGAGEMENT)[1]
    store.write(batch_of((raw("e10", 10), [learn("e10", 10, "lesson_completed", 6000,
                                                 lesson="l1")])), "t")
    publish(store, dest, fold_first=11)
    assert pending(dest) == 0
    with duckdb.connect(str(dest), read_only=True) as con:
        assert con.execute("select count(*) from lesson_state_folded").fetchone() == (4,)
        assert con.execute(ENGAGEMENT).fetchall() == store.query(ENGAGEMENT)[1]
    store.close()


def test_a_fold_reuses_staged_states_and_equals_a_refold():
    """Course state reads lesson and module state's staged rows (a temp macro shadows each
    for the rest of the fold, consumer/store/state.py), the learner days' readers the
    pending learners' folded days (a temp table shadows learner_days_folded): folding in
    random chunks, in random order, leaves every state table as a refold from all rows
    (which shadows nothing) does, and no temp macro or table behind."""
    rng = random.Random(5)
    actions = ("lesson_completed", "lesson_uncompleted", "module_completed",
               "module_uncompleted", "course_completed", "lesson_started", "enrolled")
    events = [(f"l{rng.randrange(4)}@x", rng.choice(actions), rng.randrange(90 * DAY),
               rng.choice(("alpaclass:c1", "alpaclass:c2")), f"s{rng.randrange(3)}")
              for _ in range(60)]
    store = Store(":memory:", fold_at=15)
    for k, (learner, action, minutes, course, item) in enumerate(events):
        store.write(batch_of((raw(f"e{k}", k), [learn(
            f"e{k}", k, action, minutes, lesson=item, module=item, learner=learner,
            course=course)])), "t")
    store.fold()
    # Folds leave engagement terms that sum to nothing (a cover taken back and added again):
    # the same running sums, so compared without them.
    read = {s.table: f"select * from {s.table} order by all" for s in STATES} | {
        "engagement_changes_folded": "select * from engagement_changes_folded where "
        "(dau, events, week_change, month_change) <> (0, 0, 0, 0) order by all"}
    folded = {t: store.query(sql)[1] for t, sql in read.items()}
    assert store.query("select count(*) from duckdb_functions() "
                       "where database_name = 'temp' and function_type = 'table_macro'")[1] \
        == [(0,)]
    # nor the temp learner days it read in place of learner_days_folded (State.scoped)
    assert store.query("select count(*) from duckdb_tables() where database_name = 'temp'")[1] \
        == [(0,)]
    with store.transaction():
        store.refold()
    assert folded["course_state_folded"] and folded["lesson_state_folded"]
    for table, sql in read.items():
        assert store.query(sql)[1] == folded[table], table
    store.close()


def test_a_pending_completion_after_a_folded_uncompletion_changes_only_its_own_day():
    """A completion pending where an uncompletion of the course's items was folded: its
    until day is computed from that item's uncompletions (one later in event order: that
    day; none: 'infinity'), and the folded completion days, whose until days cannot move
    without a pending uncompletion, are not changed (a fold does not write them back)."""
    store = Store(":memory:", fold_at=10**9)
    done = [("lesson_completed", DAY, "a"), ("lesson_uncompleted", 2 * DAY, "a")]
    store.write(batch_of(*((raw(f"e{i}", i), [learn(f"e{i}", i, action, minutes, lesson=item)])
                           for i, (action, minutes, item) in enumerate(done))), "t")
    store.fold()
    pending = [("lesson_completed", 0, "a"), ("lesson_completed", 5 * DAY, "b")]
    store.write(batch_of(*((raw(f"p{i}", 10 + i), [learn(f"p{i}", 10 + i, action, minutes,
                                                         lesson=item)])
                           for i, (action, minutes, item) in enumerate(pending))), "t")
    assert store.query("""select day - date '2024-01-10', case when lesson_until < 'infinity'
                              then lesson_until - date '2024-01-10' end
                          from funnel_days(fold_since()) where unfolded order by all""")[1] \
        == [(0, 2), (5, None)]
    store.fold()
    assert_folded_as_at_once(store, "funnel_days")
    assert_folded_as_at_once(store, "funnel_pairs", "funnel_days")
    store.close()


def test_funnel_pairs_fold_from_the_staged_funnel_days_and_answer_every_range():
    """The funnel pairs (sql/state/97) read funnel_days(since), which a fold shadows with
    the funnel days it staged (the pending events are merged once for both states): folded
    in random chunks, in random order, with completions undone and redone across chunks,
    they equal the pairs built from the events at once, and course_funnel_days (read from
    them) equals course_funnel_between over every range of whole days tried, with rows
    pending and with all folded."""
    assert next(s for s in STATES if s.macro == "funnel_days").read_by_others
    rng = random.Random(7)
    actions = ("lesson_completed", "lesson_uncompleted", "module_completed",
               "module_uncompleted", "course_completed", "course_uncompleted",
               "lesson_started", "enrolled", "inactivity_flagged")
    events = [(f"l{rng.randrange(3)}@x", rng.choice(actions), rng.randrange(10 * DAY),
               rng.choice(("alpaclass:c1", "alpaclass:c2")), f"s{rng.randrange(2)}")
              for _ in range(100)]
    rng.shuffle(events)
    store = Store(":memory:", fold_at=10**9)
    ranges = [(a, b) for a in (0, 4) for b in (a, a + 1, a + 3, 9)]

    def between_agrees() -> None:
        for first, last in ranges:
            days = store.query(f"""select * from course_funnel_days(
                '2024-01-10'::date + {first}, '2024-01-10'::date + {last}) order by all""")[1]
            events_ = store.query(f"""select course_key, learners, enrolled, started,
                completed_lesson, completed_module, completed_course
                from course_funnel_between(
                    timezone('America/Sao_Paulo', '2024-01-10'::timestamp + interval {first} day),
                    timezone('America/Sao_Paulo',
                             '2024-01-10'::timestamp + interval {last + 1} day))
                order by all""")[1]
            assert days == events_, (first, last)

    k = 0
    while k < len(events):
        chunk = events[k:k + rng.randint(5, 30)]
        store.write(batch_of(*((raw(f"e{k + i}", k + i), [learn(
            f"e{k + i}", k + i, action, minutes, lesson=item, module=item, learner=learner,
            course=course)]) for i, (learner, action, minutes, course, item)
            in enumerate(chunk))), "t")
        k += len(chunk)
        between_agrees()  # the chunk pending, merged at read time
        store.fold()
        between_agrees()
    assert_folded_as_at_once(store, "funnel_pairs", "funnel_days")
    assert store.query("select count(*) from funnel_pairs_folded where list_any_value("
                       "list_transform(lesson, lambda c: c.until < 'infinity'::date))")[1] \
        != [(0,)]  # some completion undone later: not every "until" is 'infinity'
    store.close()


def test_a_state_added_by_a_newer_version_is_filled_from_the_events_alone(tmp_path):
    """A store made before funnel_pairs (its table empty, the other states folded) fills it
    on open as `rebuild` would, from the events, every other folded table hidden (state.
    from_scratch): reading the folded funnel days instead joined all 3.4M of them at 10M
    events, past the consumer's 1 GB limit. A folded funnel day no event backs (planted
    here) shows it: the fill does not read it."""
    path = tmp_path / "learnstream.duckdb"
    store = Store(path)
    store.write(batch_of(*((raw(f"e{k}", k), [learn(f"e{k}", k, "lesson_started", k * DAY,
                                                   lesson="x")]) for k in range(3))), "t")
    store.fold()
    built = store.query("select * from funnel_pairs_folded")[1]
    store.close()
    with duckdb.connect(str(path)) as con:
        con.execute("insert into funnel_days_folded (learner_key, course_key, day, steps) "
                    "values ('a@x.com', 'alpaclass:c1', date '2020-01-01', 2)")
        con.execute("delete from funnel_pairs_folded")
    store = Store(path)
    assert store.query("select * from funnel_pairs_folded")[1] == built != []
    store.close()


def test_ordered_steps_redone_from_the_moved_step_read_the_folded_events_after_it():
    """A pending enrolment (or lesson completion) earlier than the folded one moves the
    steps after it to events that may have been folded long ago: a pair is redone from the
    moved step on, its folded events read where the folded learner days have a day of the
    pair from then on (sql/state/94). Folded events before, after and on the same São Paulo
    day as the moved step, a pair with events folded before any enrolment, and a new pair:
    each row as computed at once from every event, pending and after the fold."""
    store = Store(":memory:", fold_at=10**9)
    hour = 60
    folded = [  # (learner, action, minutes after T0, 12:00 UTC)
        ("moved@x", "enrolled", 10 * DAY), ("moved@x", "lesson_started", 7 * DAY),
        ("moved@x", "lesson_completed", 12 * DAY), ("moved@x", "course_completed", 20 * DAY),
        # 02:45 and 02:50 UTC on the 13th, 23:45 and 23:50 on the 12th in São Paulo: their
        # only day there is that of the pending enrolment at 02:30 UTC (23:30)
        ("sameday@x", "enrolled", 2 * DAY + 890), ("sameday@x", "lesson_started", 2 * DAY + 885),
        ("lesson@x", "enrolled", 0), ("lesson@x", "course_completed", 8 * DAY),
        ("lesson@x", "lesson_completed", 10 * DAY), ("lesson@x", "course_completed", 30 * DAY),
        ("early@x", "lesson_started", 3 * DAY), ("early@x", "lesson_completed", 4 * DAY),
    ]
    pending = [
        ("moved@x", "enrolled", 5 * DAY), ("sameday@x", "enrolled", 2 * DAY + 870),
        ("lesson@x", "lesson_completed", 6 * DAY), ("early@x", "enrolled", 2 * DAY),
        ("new@x", "enrolled", DAY), ("new@x", "lesson_completed", DAY + hour),
    ]
    for k, (learner, action, minutes) in enumerate(folded):
        store.write(batch_of((raw(f"f{k}", k), [learn(f"f{k}", k, action, minutes, lesson="x",
                                                      learner=learner)])), "t")
    store.fold()
    for k, (learner, action, minutes) in enumerate(pending, start=100):
        store.write(batch_of((raw(f"p{k}", k), [learn(f"p{k}", k, action, minutes, lesson="x",
                                                      learner=learner)])), "t")

    def steps() -> dict[str, tuple[object, ...]]:
        rows = store.query("""select learner_key, enrolled_at, started_at, lesson_at, course_at
                              from ordered_steps(fold_since()) order by all""")[1]
        return {r[0]: tuple(None if t is None else round((t - T0).total_seconds() / 60)
                            for t in r[1:]) for r in rows}

    expected = {
        "moved@x": (5 * DAY, 7 * DAY, 12 * DAY, 20 * DAY),  # started: a folded event
        "sameday@x": (2 * DAY + 870, 2 * DAY + 885, None, None),
        "lesson@x": (0, 6 * DAY, 6 * DAY, 8 * DAY),  # course: folded before the old lesson
        "early@x": (2 * DAY, 3 * DAY, 4 * DAY, None),  # folded before their enrolment
        "new@x": (DAY, DAY + hour, DAY + hour, None),
    }
    assert steps() == expected
    store.fold()
    assert steps() == expected
    assert_folded_as_at_once(store, "ordered_steps")
    store.close()


def test_learner_activity_merges_pending_days_into_the_folded_lists():
    """A learner's folded days and weeks and their pending ones (earlier, the same, later,
    of another course, inactivity_flagged not counted) are one ascending list each, pending
    and after the fold; a learner with no folded row gets one."""
    store = Store(":memory:", fold_at=10**9)
    folded = [("a@x", "lesson_started", 3 * DAY), ("a@x", "lesson_started", 10 * DAY)]
    pending = [("a@x", "lesson_started", 3 * DAY + 60), ("a@x", "lesson_started", DAY),
               ("a@x", "inactivity_flagged", 20 * DAY), ("b@x", "lesson_started", 5 * DAY)]
    for k, (learner, action, minutes) in enumerate(folded):
        store.write(batch_of((raw(f"f{k}", k), [learn(f"f{k}", k, action, minutes, lesson="x",
                                                      learner=learner)])), "t")
    store.fold()
    for k, (learner, action, minutes) in enumerate(pending, start=100):
        store.write(batch_of((raw(f"p{k}", k), [learn(
            f"p{k}", k, action, minutes, lesson="x", learner=learner,
            course="alpaclass:c2" if k % 2 else "alpaclass:c1")])), "t")
    read = """select learner_key, [d - date '2024-01-10' for d in days],
                     [w - date '2024-01-08' for w in weeks]
              from learner_activity(fold_since()) order by all"""
    expected = [("a@x", [1, 3, 10], [0, 7]), ("b@x", [5], [7])]
    assert store.query(read)[1] == expected
    store.fold()
    assert store.query(read)[1] == expected
    assert_folded_as_at_once(store, "learner_activity")
    store.close()


def test_a_fold_deletes_the_folded_rows_it_replaces_by_their_rowid():
    """lesson_state, funnel_days and learner_weeks give each row a fold writes back the rowid
    of the folded row it replaces (null for a new key; for weeks, which only add, always), so
    the write-back deletes those rows by rowid without a pass over the folded table; the
    fold then leaves each key once, as a refold does."""
    store = Store(":memory:", fold_at=10**9)
    folded = [("lesson_completed", DAY, "a"), ("lesson_started", 3 * DAY, "b")]
    pending = [("lesson_uncompleted", DAY + 60, "a"),  # replaces a's row and its day
               ("lesson_completed", 9 * DAY, "c")]  # a new lesson, day and week
    for k, (action, minutes, lesson) in enumerate(folded):
        store.write(batch_of((raw(f"f{k}", k), [learn(f"f{k}", k, action, minutes,
                                                      lesson=lesson)])), "t")
    store.fold()
    for k, (action, minutes, lesson) in enumerate(pending, start=10):
        store.write(batch_of((raw(f"p{k}", k), [learn(f"p{k}", k, action, minutes,
                                                      lesson=lesson)])), "t")
    for state in (s for s in STATES if s.macro in ("lesson_state", "funnel_days",
                                                   "learner_weeks")):
        match = " and ".join(f"f.{k} is not distinct from s.{k}" for k in state.key)
        rows = store.query(f"""select f.rowid is not null,
                   s.folded_rowid is not distinct from f.rowid
            from {state.macro}(fold_since()) s left join {state.table} f on {match}
            where s.unfolded order by all""")[1]
        assert rows == ([(False, True)] if state.macro == "learner_weeks" else
                        [(False, True), (True, True)]), state.macro
    store.fold()
    assert store.query("select lesson_key, completed from lesson_state_folded "
                       "order by all")[1] == [("a", False), ("b", None), ("c", True)]
    assert_folded_as_at_once(store, "learner_weeks")
    for state in STATES:
        keys = ", ".join(state.key)
        assert store.query(f"select count(*) = count(distinct ({keys})) "
                           f"from {state.table}")[1] == [(True,)], state.table
    store.close()


def test_a_touched_funnel_pair_keeps_its_other_days_from_its_folded_lists():
    """A pair with pending events gets its folded lists with the changed days put in place
    (funnel_pairs_touched reads the pair's one folded row, not all its folded days): with the
    folded funnel days hidden, its other folded day is still there, and a changed day
    replaces its entry rather than adding a second one."""
    store = Store(":memory:", fold_at=10**9)
    folded = [("enrolled", DAY), ("lesson_completed", 3 * DAY)]
    pending = [("lesson_started", 3 * DAY + 60), ("enrolled", 6 * DAY)]
    for k, (action, minutes) in enumerate(folded):
        store.write(batch_of((raw(f"f{k}", k), [learn(f"f{k}", k, action, minutes,
                                                      lesson="a")])), "t")
    store.fold()
    for k, (action, minutes) in enumerate(pending, start=10):
        store.write(batch_of((raw(f"p{k}", k), [learn(f"p{k}", k, action, minutes,
                                                      lesson="a")])), "t")
    read = """select [d - date '2024-01-10' for d in days],
                     [d - date '2024-01-10' for d in enrolled],
                     [d - date '2024-01-10' for d in started],
                     [x.day - date '2024-01-10' for x in lesson]
              from funnel_pairs_touched(fold_since())"""
    expected = [([1, 3, 6], [1, 6], [3], [3])]
    assert store.query(read)[1] == expected
    (db,) = store.query("select current_database()")[1][0]
    store.query(f'create temp table funnel_days_folded as from "{db}".main.funnel_days_folded '
                "where day <> date '2024-01-11'")  # the pending events' days stay
    try:
        assert store.query(read)[1] == expected
    finally:
        store.query("drop table temp.main.funnel_days_folded")
    store.fold()
    assert_folded_as_at_once(store, "funnel_pairs", "funnel_days")
    store.close()


FOLDED_ROWS = """select (select count(*) from learning_events where stored_seq < fold_since())
                      + (select count(*) from commerce_events
                         where stored_seq < commerce_fold_since())"""
ALL_ROWS = "select (select count(*) from learning_events) + (select count(*) from commerce_events)"


def test_the_writer_commits_batches_while_a_fold_runs_beside_it(tmp_path, monkeypatch):
    """A fold `beside` (a backlog's) runs in a transaction of its own beside the writer's
    (Store.fold). Held open here, its rows folded but not committed, while the second half
    of a run is written: every batch commits meanwhile, and the writer leaves its own fold
    (fold_at reached) to the running one; a request's transaction and a snapshot's
    checkpoint wait for it. The fold folds exactly the rows committed before it began,
    those written meanwhile stay pending and the next fold folds them; the views equal the
    oracle's answers with them pending, folded, and in the snapshot."""
    ds = journeys(*SMALL)
    half = len(ds) // 2
    answers = expected(ds)
    store = Store(tmp_path / "learnstream.duckdb", fold_at=10**9)
    load(store, ds[:half], batch_size=97)
    (before,) = store.query(ALL_ROWS)[1][0]
    reached, go = threading.Event(), threading.Event()
    real = db.fold

    def held(con: duckdb.DuckDBPyConnection, *args: Any, **kwargs: Any) -> None:
        real(con, *args, **kwargs)
        if not reached.is_set():  # the first fold only, before it commits
            reached.set()
            assert go.wait(60)

    def request() -> int:
        with store.transaction():
            return int(store.query(FOLDED_ROWS)[1][0][0])

    def checkpoint() -> int:  # after the fold: the snapshot holds its rows
        with store.frozen(datetime.now(UTC)) as (_, size, _):
            return size

    monkeypatch.setattr(db, "fold", held)
    with ThreadPoolExecutor(4) as pool:
        folding = pool.submit(store.fold, 1, True)  # beside: a backlog's fold
        try:
            assert reached.wait(60)
            store.fold_at = 1  # every batch would fold, were it not running
            writing = pool.submit(load, store, ds[half:], 97)
            writing.result(timeout=60)  # with the lock held by the fold: TimeoutError
            assert store.query(FOLDED_ROWS)[1] == [(0,)]  # nothing committed by a fold yet
            waiting = [pool.submit(request), pool.submit(checkpoint)]
            time.sleep(0.3)
            assert not any(f.done() for f in (folding, *waiting))
        finally:
            go.set()
        folding.result(timeout=60)
        assert waiting[0].result(timeout=60) == before  # after the fold: its rows are folded
        assert waiting[1].result(timeout=60) > 0
    (after,) = store.query(ALL_ROWS)[1][0]
    assert after > before > 0
    assert store.query(FOLDED_ROWS)[1] == [(before,)]
    assert store._pending == after - before  # pending: the rows written beside it
    assert_views(rows_of(store), answers)
    # What it folded equals those rows folded at once (the first half's completions are
    # not undone within it: assert_dashboard_states_folded's last check waits for the end).
    assert_engagement_terms_folded(store)
    for state in ("funnel_days", "ordered_steps", "course_labels", "learner_weeks",
                  "learner_activity"):
        assert_folded_as_at_once(store, state)
    assert_folded_as_at_once(store, "funnel_pairs", "funnel_days")
    store.fold_at = 10**9
    store.fold()
    assert store.query(FOLDED_ROWS)[1] == [(after,)] and store._pending == 0
    assert_views(rows_of(store), answers)
    assert_engagement_terms_folded(store)
    assert_dashboard_states_folded(store)
    dest = tmp_path / "analytics.duckdb"
    publish(store, dest)
    store.close()
    with duckdb.connect(str(dest), read_only=True) as con:
        assert_views(lambda sql: con.execute(sql).fetchall(), answers)


def folds_asked(store: Store, monkeypatch: Any) -> list[bool]:
    """Each `store.fold` call from now on, as whether it was asked to run beside."""
    asked: list[bool] = []
    real = store.fold

    def fold(minimum: int = 1, beside: bool = False) -> None:
        asked.append(beside)
        real(minimum, beside)

    monkeypatch.setattr(store, "fold", fold)
    return asked


async def test_a_snapshot_folds_beside_the_writer_under_a_backlog_only(tmp_path, monkeypatch):
    """Snapshots.maybe folds beside the batches when the last poll was full (a backlog:
    batches wait for the writer), and holding the lock otherwise (nothing waits, and the
    two at once only take the cores from the receiver: Store.fold)."""
    store = Store(tmp_path / "learnstream.duckdb")
    store.write(batch_of((raw("a", 0), [learn("a", 0, "lesson_completed", lesson="l1")])), "t")
    asked = folds_asked(store, monkeypatch)
    snaps = Snapshots(store, tmp_path / "analytics.duckdb", interval=0.001)
    for consumed, backlog in ((1, False), (2, True)):
        snaps._due = 0.0  # due now, whatever the last copy took (the cap)
        await snaps.maybe(consumed, backlog=backlog)
        await snaps._settle()
    assert asked == [False, True]
    store.close()


async def test_under_a_backlog_the_fold_fold_at_calls_for_runs_beside_the_batches(
        tmp_path, monkeypatch):
    """A batch under a backlog leaves the rows FOLD_AT would fold (the worker passes it a
    higher `fold_at`), and Snapshots.maybe folds them beside the next batches, snapshots
    on or off; caught up, or that far behind, the batch folds them itself, as before."""
    store = Store(tmp_path / "learnstream.duckdb", fold_at=3)
    asked = folds_asked(store, monkeypatch)
    snaps = Snapshots(store, tmp_path / "analytics.duckdb", interval=0)  # snapshots off
    lessons = iter(range(100))

    def four() -> Any:
        return batch_of(*((raw(f"e{i}", i), [learn(f"e{i}", i, "lesson_completed", i * 60,
                                                   lesson=f"l{i % 3}")])
                          for i in (next(lessons) for _ in range(4))))

    store.write(four(), "t", fold_at=2 * store.fold_at)
    assert store.pending == 4  # not folded with the batch
    await snaps.maybe(4, backlog=False)  # caught up: left to the next batch, as before
    await snaps._settle()
    assert asked == [] and store.pending == 4
    await snaps.maybe(4, backlog=True)
    await snaps._settle()
    assert asked == [True] and store.pending == 0
    store.write(four(), "t", fold_at=2 * store.fold_at)
    store.write(four(), "t", fold_at=2 * store.fold_at)  # 8 pending: twice fold_at
    assert store.pending == 0 and asked == [True]  # folded in the batch, beside or not
    store.write(four(), "t")
    store.write(four(), "t")  # the default: at fold_at, in the batch
    assert store.pending == 0
    (rows,) = store.query("select count(*) from learning_events "
                          "where stored_seq >= fold_since()")[1]
    assert rows == (0,)
    # 20 completions of 3 lessons by one learner, folded in four folds, beside or not
    assert store.query("select count(*) from lesson_state_folded")[1] == [(3,)]
    for state in ("funnel_days", "learner_activity"):
        assert_folded_as_at_once(store, state)
    store.close()


def test_a_fold_beside_the_batches_leaves_them_a_core_until_they_catch_up(tmp_path,
                                                                            monkeypatch):
    """Beside the batches a fold runs on all DuckDB's threads but one (the writer's Python
    thread keeps a core), every one again once the batches are caught up, and after it."""
    store = Store(tmp_path / "learnstream.duckdb", fold_at=10**9)
    store.run(lambda con: con.execute("set threads = 3"))
    store._opened()  # read as configured: 3
    store.write(batch_of((raw("a", 0), [learn("a", 0, "lesson_completed", lesson="l1")])), "t")
    seen: list[tuple[int, bool]] = []
    real = db.fold

    def threads(con: duckdb.DuckDBPyConnection) -> None:
        (n,) = con.execute("select current_setting('threads')").fetchone() or (0,)
        seen.append((int(n), store.sharing))

    def fold(con: duckdb.DuckDBPyConnection, **kw: Any) -> None:
        threads(con)
        store.caught_up()
        threads(con)
        real(con, **kw)

    monkeypatch.setattr(db, "fold", fold)
    store.fold(beside=True)
    store.run(threads)
    store.write(batch_of((raw("b", 1), [learn("b", 1, "lesson_completed", lesson="l1")])), "t")
    store.fold()  # holding the lock: every thread
    store.run(threads)
    assert seen == [(2, True), (3, False), (3, False), (3, False), (3, False), (3, False)]
    assert store.pending == 0
    store.close()
