"""A store file made by an earlier version, opened by this one: migrated on start, every
view and macro answering as in a store this version made from the same messages.

tests/support/stores/ea2454f.duckdb.gz was made by the code at ea2454f (raw_events.body was
JSON there) running `made_by_both` below on an empty store, then closed and gzipped.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import msgspec

from consumer.journeys import journeys, messages
from consumer.journeys.events import ZONE
from consumer.rows import Batch
from consumer.sources.decoder import Decoder
from consumer.store import Store
from consumer.store.state import STATES
from tests.support.oracle import expected
from tests.support.simulated import SMALL, load

STORES = Path(__file__).parent / "support" / "stores"
BODY_TYPE = ("select data_type from duckdb_columns() where table_name = 'raw_events' "
             "and column_name = 'body'")


def made_by_both(store: Store) -> None:
    """The small simulated run with purchases, then a differing redelivery of its first Eduzz
    message (a conflict, so conflicting_duplicates reads a stored body) and a message that is
    not JSON (a dead letter)."""
    ds = journeys(*SMALL, sales=True)
    load(store, ds)
    first = next(m for m in messages(ds) if m.headers[0][1] == b"eduzz")
    doc = msgspec.json.decode(first.value)
    doc["data"] = {**doc["data"], "note": "changed"}
    batch = Batch()
    decoder = Decoder({"eduzz": ZONE, "toolzz": ZONE})
    for offset, value in ((5000, msgspec.json.encode(doc)), (5001, b"{not json")):
        batch.add(0, offset, decoder.decode(
            first._replace(value=value, partition=0, offset=offset)))
    store.write(batch, "sim")


def relations(store: Store) -> list[str]:
    """Every view, and every table macro as the oracle and the readers call it."""
    views = [v for (v,) in store.query("select view_name from duckdb_views() "
                                       "where not internal order by 1")[1]]
    calls = sorted({a.relation for a in expected(journeys(*SMALL, sales=True))
                    if "(" in a.relation})
    calls += [f"{m}(fold_since())" for m in ("lesson_state", "module_state", "course_state",
                                             "lesson_catalogue", "learner_days",
                                             "engagement_changes", "funnel_days",
                                             "ordered_steps", "course_labels",
                                             "learner_weeks", "learner_activity",
                                             "learner_activity_touched", "funnel_pairs",
                                             "funnel_pairs_touched")]
    # Filled when the old file is opened (sql/state/93-98), not only merged at read time.
    calls += [f"{s}_folded" for s in ("funnel_days", "ordered_steps", "course_labels",
                                       "learner_weeks", "learner_activity", "funnel_pairs")]
    # Measured at query time: the two stores are asked at different instants. And the day a
    # batch was written: the old file's were written the day it was made, the new store's
    # today (this compared 2026-12-04 with 2026-12-05 once the day turned in Sao Paulo).
    at_run = {"snapshot_info": "age_seconds", "duplicate_rate": "day"}
    return [f"(select * exclude ({at_run[v]}) from {v})" if v in at_run else v
            for v in views] + calls


# Where a state macro's row lies in its folded table (the fold deletes by it): a place in
# each file, not an answer.
PLACE = "folded_rowid"


def answers(store: Store, wanted: list[str]) -> dict[str, list[list[str | None]]]:
    return {r: sorted(map(list, store.query(
        f"select cast(columns(lambda c: c <> '{PLACE}') as varchar) from {r}")[1]), key=repr)
        for r in wanted}


def scattered(store: Store) -> dict[str, int]:
    """Per folded table of learners, its runs of one learner's rows (in rowid order) beyond
    one per learner: 0 when each learner's rows sit together."""
    return {s.table: store.query(
        "select count(*) filter (where learner_key is distinct from previous) "
        f"- count(distinct learner_key) from (select learner_key, lag(learner_key) "
        f"over (order by rowid) as previous from {s.table})")[1][0][0]
        for s in STATES if s.key[0] == "learner_key"}


def test_a_store_made_with_json_bodies_is_migrated_and_answers_the_same(tmp_path):
    old = tmp_path / "old" / "learnstream.duckdb"
    old.parent.mkdir()
    old.write_bytes(gzip.decompress((STORES / "ea2454f.duckdb.gz").read_bytes()))
    with_json = Store(old)
    try:
        assert with_json.query(BODY_TYPE)[1] == [("VARCHAR",)]
        # Its folded tables of learners grouped once by learner (state.cluster), as a new
        # store's folds insert them.
        assert with_json.query("select learner_order from fold_mark")[1] == [(True,)]
        apart = scattered(with_json)
        assert len(apart) == 9 and set(apart.values()) == {0}
        stored = with_json.query("select count(*), count(distinct body) from raw_events")[1]
        fresh = Store(tmp_path / "new" / "learnstream.duckdb")
        made_by_both(fresh)
        fresh.close()  # as the old file was: closing folds the state
        fresh = Store(tmp_path / "new" / "learnstream.duckdb")
        try:
            assert fresh.query(BODY_TYPE)[1] == [("VARCHAR",)]
            assert set(scattered(fresh).values()) == {0}  # one fold: grouped
            wanted = relations(fresh)
            assert "conflicting_duplicates" in wanted and "unknown_events" in wanted
            assert answers(with_json, wanted) == answers(fresh, wanted)
            # Byte for byte the bodies the old version stored.
            assert with_json.query("select event_uid, body from raw_events order by 1")[1] == (
                fresh.query("select event_uid, body from raw_events order by 1")[1])
        finally:
            fresh.close()
        assert stored[0][0] > 800
        # The event_uid key survived the conversion: the same messages again, at later
        # offsets (a log read anew), are all duplicates.
        before = with_json.query("select count(*) from raw_events")[1]
        decoder, batch = Decoder({"eduzz": ZONE, "toolzz": ZONE}), Batch()
        for m in messages(journeys(*SMALL, sales=True)):
            later = m._replace(offset=m.offset + 100_000)
            batch.add(later.partition, later.offset, decoder.decode(later))
        written = with_json.write(batch, "sim")
        assert written.events == 0 and written.duplicates >= before[0][0]
        assert with_json.query("select count(*) from raw_events")[1] == before
        assert with_json.query("select count(*) from duckdb_constraints() where table_name = "
                               "'raw_events' and constraint_type = 'PRIMARY KEY'")[1] == [(1,)]
    finally:
        with_json.close()
    reopened = Store(old)  # converted once: a restart finds VARCHAR and leaves it
    try:
        assert reopened.query(BODY_TYPE)[1] == [("VARCHAR",)]
    finally:
        reopened.close()
