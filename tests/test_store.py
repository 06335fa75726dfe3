"""The DuckDB store and the SQL objects, on real DuckDB (temp files and :memory:)."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from msgspec.structs import replace

from consumer.rows import Batch, DeadLetter, Decoded
from consumer.store import Store, apply_schema, dedupe, schema_files
from consumer.store.state import STATES
from tests.support.rows import T0, batch_of, learn, raw

SQL_DIR = Path(__file__).parent.parent / "sql"
PENDING = "(select count(*) from learning_events where stored_seq >= fold_since())"


def test_sql_files_are_numbered_one_object_each_and_idempotent():
    names = [name for name, _ in schema_files()]
    # Every file is applied (none in a folder the loader does not know), folder by folder.
    assert sorted(names) == sorted(p.relative_to(SQL_DIR).as_posix()
                                   for p in SQL_DIR.rglob("*.sql"))
    assert [n.split("/")[0] for n in names] == sorted(
        (n.split("/")[0] for n in names), key=["tables", "state", "views", "macros"].index)
    for folder in {n.split("/")[0] for n in names}:
        numbers = [n.split("/")[1][:2] for n in names if n.startswith(folder + "/")]
        assert len(set(numbers)) == len(numbers), f"sql/{folder}: one number per file"
        assert numbers == sorted(numbers)
    for path, text in schema_files():
        name = path.split("/")[1]
        assert re.match(r"^\d\d_[a-z_]+\.sql$", name), path
        creates = re.findall(
            r"^create (?:table if not exists|or replace view|or replace macro) (\w+)", text,
            re.MULTILINE)
        if path in STATE_FILES:  # one state: its folded table, its macro, maybe its view
            # or the macro it reads (purchase_state: the sales views read purchase_rows), and
            # maybe the fold's `<state>_touched` (consumer/store/state.py, State.reads) and
            # `<state>_learners` (State.learners)
            state = name[3:-4]
            assert creates[0] == f"{state}_folded" and state in creates[1:3], path
            others = [c for c in creates if c not in (f"{state}_touched", f"{state}_learners")]
            assert len(others) <= 3, f"{path}: one state, at most one view of it"
            continue
        assert len(creates) == 1, f"{name} must create exactly one object"
        assert name[3:-4] == creates[0], f"{name} should be named for {creates[0]}"
        kind = re.match(r"create (?:or replace )?(\w+)", text[text.index("create "):]).group(1)
        folder = path.split("/")[0]
        assert folder == "state" or kind == folder.rstrip("s"), f"a {kind} in sql/{folder}"
    con = duckdb.connect()
    apply_schema(con)
    apply_schema(con)  # a restart applies everything again


STATE_FILES = {f"state/{n}" for n in ("20_lesson_state.sql", "30_module_state.sql",
                                           "40_course_state.sql", "50_lesson_catalogue.sql",
                                           "60_invoice_state.sql", "70_refund_progress.sql",
                                           "80_mapping_state.sql", "81_purchase_state.sql",
                                           "90_learner_days.sql", "92_engagement_changes.sql",
                                           "93_funnel_days.sql", "94_ordered_steps.sql",
                                           "95_course_labels.sql", "96_learner_weeks.sql",
                                           "97_funnel_pairs.sql", "98_learner_activity.sql")}


def test_each_state_declares_its_grain_once_and_the_fold_reads_it():
    assert {f"state/{n}.sql" for n in ("20_lesson_state", "30_module_state", "40_course_state",
                                       "50_lesson_catalogue", "60_invoice_state",
                                       "70_refund_progress", "80_mapping_state",
                                       "81_purchase_state", "90_learner_days",
                                       "92_engagement_changes", "93_funnel_days",
                                       "94_ordered_steps", "95_course_labels",
                                       "96_learner_weeks", "97_funnel_pairs",
                                       "98_learner_activity")} == STATE_FILES
    con = duckdb.connect()
    apply_schema(con)
    assert [(s.table, s.macro, s.folds) for s in STATES] == [
        ("lesson_state_folded", "lesson_state", "learning_events"),
        ("module_state_folded", "module_state", "learning_events"),
        ("course_state_folded", "course_state", "learning_events"),
        ("lesson_catalogue_folded", "lesson_catalogue", "learning_events"),
        ("invoice_state_folded", "invoice_state", "commerce_events"),
        ("refund_progress_folded", "refund_progress", "commerce_events"),
        ("mapping_state_folded", "mapping_state", "commerce_events"),
        ("purchase_state_folded", "purchase_state", "commerce_events"),
        ("learner_days_folded", "learner_days", "learning_events"),
        ("engagement_changes_folded", "engagement_changes", "learning_events"),
        ("funnel_days_folded", "funnel_days", "learning_events"),
        ("ordered_steps_folded", "ordered_steps", "learning_events"),
        ("course_labels_folded", "course_labels", "learning_events"),
        ("learner_weeks_folded", "learner_weeks", "learning_events"),
        ("funnel_pairs_folded", "funnel_pairs", "learning_events"),
        ("learner_activity_folded", "learner_activity", "learning_events")]
    for table, macro, grain, *_ in STATES:
        # The grain leads the folded table and the rows of the macro merging into it.
        columns = [c for (c,) in con.execute(
            "select column_name from duckdb_columns() where table_name = $1 "
            "order by column_index", [table]).fetchall()]
        assert tuple(columns[:len(grain)]) == grain, (table, columns)
        merged = con.execute(f"select * from {macro}(fold_since()) limit 0").description
        assert tuple(d[0] for d in merged[:len(grain)]) == grain, macro


def test_every_view_has_a_comment():
    con = duckdb.connect()
    apply_schema(con)
    views = con.execute("select view_name, comment from duckdb_views() "
                        "where not internal and schema_name = 'main'").fetchall()
    assert {"course_funnel", "learner_course_progress"} <= {v for v, _ in views}
    assert all(comment for _, comment in views), views


# Identity keys (README, What lands in DuckDB) and the source: the only view columns whose name
# says all. Everything else carries units, zone, denominator or which events count.
OBVIOUS_COLUMNS = ["course_key", "event_uid", "learner_key", "lesson_key", "source"]


def test_every_view_column_but_the_keys_has_a_comment_that_survives_a_restart():
    con = duckdb.connect()
    apply_schema(con)
    apply_schema(con)  # `create or replace view` drops column comments: each file restores its own
    uncommented = con.execute("""
        select c.table_name, c.column_name from duckdb_columns() c
        join duckdb_views() v on v.view_name = c.table_name and v.schema_name = c.schema_name
        where not v.internal and v.schema_name = 'main' and c.comment is null""").fetchall()
    assert len(uncommented) > 10  # the keys of most views
    assert sorted({column for _, column in uncommented}) == OBVIOUS_COLUMNS, uncommented


def test_contract_columns_of_views():
    con = duckdb.connect()
    apply_schema(con)

    def columns(view: str) -> list[str]:
        return [r[0] for r in con.execute(f"describe {view}").fetchall()]

    assert columns("learner_course_progress") == [
        "learner_key", "course_key", "course_name", "first_activity_at", "last_activity_at",
        "lessons_completed", "modules_completed", "course_completed", "course_completed_at",
        "progress"]
    assert columns("course_funnel")[:9] == [
        "course_key", "course_name", "platform", "learners", "enrolled", "started",
        "completed_lesson", "completed_module", "completed_course"]


def test_batch_is_stored_once_and_redeliveries_are_skipped(tmp_path):
    store = Store(tmp_path / "db.duckdb")
    first = batch_of((raw("eduzz:1", 0), [learn("eduzz:1", 0, "lesson_completed", lesson="l1")]),
                     (raw("eduzz:2", 1), [learn("eduzz:2", 1, "lesson_seen", lesson="l1")]),
                     # the same event twice in one batch: the first copy wins
                     (raw("eduzz:2", 2), [learn("eduzz:2", 2, "lesson_seen", lesson="l1")]))
    written = store.write(first, "topic")
    assert (written.events, written.duplicates, written.learning) == (2, 1, 2)
    again = batch_of((raw("eduzz:1", 3), [learn("eduzz:1", 3, "lesson_completed", lesson="l1")]))
    assert store.write(again, "topic").events == 0
    assert store.query("select event_uid, kafka_offset from raw_events order by 1")[1] == [
        ("eduzz:1", 0), ("eduzz:2", 1)]
    assert store.query("select count(*) from learning_events")[1] == [(2,)]
    assert store.offsets("topic") == {0: 4}
    store.close()
    reopened = Store(tmp_path / "db.duckdb")  # the file alone is complete after close
    assert reopened.query("select count(*) from raw_events")[1] == [(2,)]
    reopened.close()


def test_stored_events_are_found_across_lookup_chunks(monkeypatch):
    monkeypatch.setattr(dedupe, "LOOKUP", 7)  # the index lookups go 7 keys per statement
    store = Store(":memory:")
    store.write(batch_of(*((raw(f"eduzz:{i}", i), []) for i in range(0, 40, 2))), "t")
    again = batch_of(*((raw(f"eduzz:{i}", 100 + i), []) for i in range(40)))
    written = store.write(again, "t")
    assert (written.events, written.duplicates) == (20, 20)
    assert store.query("select count(*), count(distinct event_uid) from raw_events")[1] == [
        (40, 40)]


def test_positions_already_stored_are_skipped_rows_and_dead_letters_alike():
    """A crash between the DuckDB commit and the Kafka commit redelivers a whole batch."""
    store = Store(":memory:")
    b = batch_of((raw("eduzz:1", 0), [learn("eduzz:1", 0, "course_seen")]))
    b.add(0, 1, Decoded(None, [], [], DeadLetter(0, 1, T0, "eduzz", "invalid_json", "x", b"?")))
    assert store.write(b, "topic").dead_letters == 1
    again = store.write(b, "topic")
    assert (again.events, again.dead_letters, again.duplicates) == (0, 0, 2)
    assert store.query("select count(*) from dead_letters")[1] == [(1,)]
    assert store.offsets("topic") == {0: 2}


def test_failed_batch_stores_nothing_and_store_stays_usable():
    store = Store(":memory:")
    bad = batch_of((raw("eduzz:1", 0), []))
    bad.raw[0] = replace(bad.raw[0], source=None)  # type: ignore[arg-type]  # NOT NULL
    with pytest.raises(duckdb.Error):
        store.write(bad, "topic")
    assert store.query("select count(*) from raw_events")[1] == [(0,)]
    assert store.offsets("topic") == {}
    ok = batch_of((raw("eduzz:2", 1), [learn("eduzz:2", 1, "course_seen")]))
    assert store.write(ok, "topic").events == 1


def test_dead_letters_are_stored_with_raw_bytes():
    store = Store(":memory:")
    b = Batch()
    b.add(0, 5, Decoded(None, [], [], DeadLetter(0, 5, T0, "eduzz", "invalid_json", "bad",
                                                 b"\xffnot json")))
    assert store.write(b, "topic").dead_letters == 1
    assert store.query("select error_kind, body from dead_letters")[1] == [
        ("invalid_json", b"\xffnot json")]


def progress_of(store: Store) -> dict[str, object]:
    cols, rows = store.query("select * from learner_course_progress")
    assert len(rows) == 1
    return dict(zip(cols, rows[0], strict=True))


def test_current_state_latest_completion_event_wins_whatever_the_arrival_order():
    events = [
        learn("e1", 0, "lesson_completed", 0, lesson="l1"),
        learn("e2", 1, "lesson_completed", 1, lesson="l2"),
        learn("e3", 2, "lesson_uncompleted", 5, lesson="l2"),
        learn("e4", 3, "module_completed", 2, module="m1"),
        learn("e5", 4, "course_completed", 3),
        learn("e6", 5, "course_uncompleted", 4),
        learn("e7", 6, "course_completed", 6, progress=80),
        learn("e8", 7, "lesson_seen", 7, lesson="l3", progress=90),
    ]
    answers = []
    orders = (events, list(reversed(events)), events[3:] + events[:3])
    for order, fold_at in itertools.product(orders, (1, 10**9)):  # folded each event, never
        store = Store(":memory:", fold_at=fold_at)
        for i, row in enumerate(order):  # arrival offsets follow this order
            store.write(batch_of((raw(row.event_uid, i), [replace(row, kafka_offset=i)])), "t")
        answers.append(progress_of(store))
        funnel = store.query("select learners, started, completed_lesson, completed_module, "
                             "completed_course from course_funnel")[1]
        assert funnel == [(1, 1, 1, 1, 1)]
    assert all(a == answers[0] for a in answers)
    assert answers[0]["lessons_completed"] == 1  # l2 was un-completed later
    assert answers[0]["modules_completed"] == 1
    assert answers[0]["course_completed"] is True
    assert answers[0]["course_completed_at"] == T0 + timedelta(minutes=6)
    assert answers[0]["progress"] == 90
    assert answers[0]["first_activity_at"] == T0
    assert answers[0]["last_activity_at"] == T0 + timedelta(minutes=7)


def test_new_events_wait_pending_until_enough_arrive_or_the_store_closes(tmp_path):
    store = Store(tmp_path / "db.duckdb", fold_at=3)
    lessons = "select lesson_key, course_key, completed from learner_lesson_state order by 1"

    def counts() -> tuple[int, int]:
        return store.query(f"select {PENDING}, "
                           "(select count(*) from lesson_state_folded)")[1][0]

    store.write(batch_of((raw("e1", 0), [learn("e1", 0, "lesson_completed", 0, lesson="l1",
                                               course=None)]),
                         (raw("e2", 1), [learn("e2", 1, "lesson_completed", 0, lesson="l2")])),
                "t")
    assert counts() == (2, 0)
    assert store.query(lessons)[1] == [("l1", None, True), ("l2", "alpaclass:c1", True)]
    # An un-completion that happened later (a lesson of no course: null is a key too)
    store.write(batch_of((raw("e3", 2), [learn("e3", 2, "lesson_uncompleted", 5, lesson="l1",
                                               course=None)])), "t")
    assert counts() == (0, 2)  # the third row: folded with the batch
    assert store.query(lessons)[1] == [("l1", None, False), ("l2", "alpaclass:c1", True)]
    store.write(batch_of((raw("e4", 3), [learn("e4", 3, "lesson_completed", 1, lesson="l1",
                                               course=None)])), "t")  # earlier than e3
    assert counts() == (1, 2)
    assert store.query(lessons)[1] == [("l1", None, False), ("l2", "alpaclass:c1", True)]
    store.close()
    with duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True) as con:
        assert con.execute(f"select {PENDING}").fetchone() == (0,)
        assert con.execute(lessons).fetchall() == [("l1", None, False),
                                                   ("l2", "alpaclass:c1", True)]


def test_ties_on_occurred_at_are_broken_by_arrival():
    store = Store(":memory:")
    store.write(batch_of((raw("e1", 0), [learn("e1", 0, "lesson_completed", 0, lesson="l1")]),
                         (raw("e2", 1), [learn("e2", 1, "lesson_uncompleted", 0, lesson="l1")])),
                "t")
    assert progress_of(store)["lessons_completed"] == 0


def test_funnel_counts_enrolled_started_and_ignores_inactivity_as_activity():
    store = Store(":memory:")
    rows = [learn("e1", 0, "enrolled", learner="a@x"),
            learn("e2", 1, "enrolled", learner="b@x"),
            learn("e3", 2, "lesson_started", 1, learner="a@x", lesson="l1"),
            learn("e4", 3, "inactivity_flagged", 2, learner="b@x"),
            learn("e5", 4, "course_seen", 2, learner="c@x")]
    store.write(batch_of(*((raw(r.event_uid, r.kafka_offset), [r]) for r in rows)), "t")
    cols, (row,) = store.query("select * from course_funnel")
    got = dict(zip(cols, row, strict=True))
    assert (got["learners"], got["enrolled"], got["started"]) == (3, 2, 2)
    assert got["platform"] == "alpaclass" and got["course_name"] == "Course One"
    assert got["enrolled_rate"] == pytest.approx(2 / 3)
    assert got["started_rate"] == 1.0
    assert got["completed_lesson_rate"] == 0.0 and got["completed_module_rate"] is None


def test_unknown_events_lists_only_types_no_decoder_knows():
    store = Store(":memory:")
    b = Batch()
    known = raw("eduzz:1", 0)
    unknown = replace(raw("eduzz:2", 1), event_type="brand.new_event")
    unknown_2 = replace(raw("eduzz:3", 2), event_type="brand.new_event")
    nameless = replace(raw("toolzz:sha256:ab", 3), source="toolzz", event_type=None)
    broken = replace(raw("eduzz:4", 4), event_type="alpaclass.student_created")
    b.add(0, 0, Decoded(known, [learn("eduzz:1", 0, "course_seen")], [], None))
    b.add(0, 1, Decoded(unknown, [], [], None))
    b.add(0, 2, Decoded(unknown_2, [], [], None))
    b.add(0, 3, Decoded(nameless, [], [], None))
    b.add(0, 4, Decoded(broken, [], [], DeadLetter(0, 4, T0, "eduzz", "invalid_event", "x",
                                                    b"{}")))
    store.write(b, "t")
    assert store.query("select source, event_type, events, first_seen, last_seen "
                       "from unknown_events order by 1, 2")[1] == [
        ("eduzz", "brand.new_event", 2, T0, T0), ("toolzz", "(none)", 1, T0, T0)]


def test_conflicting_redelivery_is_kept_aside_and_the_first_write_wins():
    store = Store(":memory:")
    first = replace(raw("eduzz:9", 0), body='{"id": 9, "sentDate": "a", "data": {"x": 1}}')
    resent = replace(raw("eduzz:9", 1), body='{"id": 9, "sentDate": "b", "data": {"x": 1}}')
    forged = replace(raw("eduzz:9", 2), body='{"id": 9, "sentDate": "a", "data": {"x": 2}}')
    late = replace(raw("eduzz:9", 3), body='{"data": {"sentDate": "c", "x": 1}, "id": 9}')
    written = store.write(batch_of((first, []), (resent, []), (forged, [])), "t")
    assert (written.events, written.duplicates, written.conflicts) == (1, 2, 1)
    assert store.write(batch_of((late, [])), "t").conflicts == 0  # key order and sentDate
    rows = store.query("select event_uid, first_body->>'$.data.x', body->>'$.data.x', "
                       "kafka_offset from conflicting_duplicates")[1]
    assert rows == [("eduzz:9", "1", "2", 2)]
    assert store.query("select body->>'$.data.x' from raw_events")[1] == [("1",)]


def test_a_log_recreated_from_offset_zero_is_not_mistaken_for_a_redelivery():
    """Same positions, different messages (topic recreated, in-memory broker restarted)."""
    store = Store(":memory:")
    old = Batch()
    old.add(0, 0, Decoded(None, [], [], DeadLetter(0, 0, T0, "eduzz", "invalid_json", "x",
                                                   b"old")))
    store.write(old, "t")
    new = batch_of((raw("eduzz:new", 0), [learn("eduzz:new", 0, "course_seen")]))
    new.add(0, 1, Decoded(None, [], [], DeadLetter(0, 0, T0, "eduzz", "invalid_json", "x",
                                                   b"new")))
    written = store.write(new, "t")
    assert (written.events, written.dead_letters, written.duplicates) == (1, 1, 0)
    assert store.offsets("t") == {0: 2}  # the stored offset follows the log it last read
    store.forget_offsets("t", [0])
    assert store.offsets("t") == {}


def test_a_conflicting_message_read_twice_is_one_conflict():
    """A rebalance can rewind a partition over messages already stored."""
    store = Store(":memory:")
    first = replace(raw("eduzz:9", 0), body='{"id": 9, "data": {"x": 1}}')
    other = replace(raw("eduzz:9", 1), body='{"id": 9, "data": {"x": 2}}')
    store.write(batch_of((first, []), (other, [])), "t")
    store.write(batch_of((first, []), (other, [])), "t")  # the same two messages again
    assert store.query("select count(*) from conflicting_duplicates")[1] == [(1,)]


def test_the_memory_limit_reaches_duckdb(tmp_path):
    store = Store(tmp_path / "m.duckdb", memory_limit="64MB")
    try:
        (limit,), = store.query("select current_setting('memory_limit')")[1]
        assert limit == "61.0 MiB"  # DuckDB reports 64 MB (10^6) in MiB
    finally:
        store.close()
