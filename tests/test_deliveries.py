"""Per-batch delivery counts (`deliveries`) and the duplicate rate read from them, on a
Store in a temporary file."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from msgspec.structs import replace

from consumer.rows import Batch, DeadLetter, Decoded
from consumer.store import Error, Store
from tests.support.rows import T0, batch_of, learn, raw

COUNTS = "source, messages, new_events, duplicates, conflicts, dead_letters"


def mixed_batch() -> Batch:
    """Two Eduzz events, one Toolzz event, a Toolzz message that is only a dead letter, an
    Eduzz event with a dead letter beside its raw row, and a ping (no rows at all)."""
    toolzz = replace(raw("toolzz:sha256:aa", 2), source="toolzz")
    b = batch_of((raw("eduzz:1", 0), [learn("eduzz:1", 0, "lesson_completed", lesson="l1")]),
                 (raw("eduzz:2", 1), [learn("eduzz:2", 1, "lesson_seen", lesson="l1")]),
                 (toolzz, []))
    b.add(0, 3, Decoded(None, [], [], DeadLetter(0, 3, T0, "toolzz", "invalid_json", "x", b"{")))
    b.add(0, 4, Decoded(raw("eduzz:3", 4), [], [],
                        DeadLetter(0, 4, T0, "eduzz", "invalid_event", "x", b"{}")))
    b.add(0, 5, Decoded(None, [], [], None))  # an Eduzz ping: not an event, no source
    return b


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    db = Store(tmp_path / "db.duckdb")
    yield db
    db.close()


def test_the_same_batch_twice_is_all_duplicates_the_second_time(store):
    batch = mixed_batch()
    store.write(batch, "t")
    second = store.write(batch, "t")
    assert second.duplicates == 5
    rows = store.query(f"select {COUNTS} from deliveries order by batch_at, source")[1]
    assert rows == [("eduzz", 3, 3, 0, 0, 1), ("toolzz", 2, 1, 0, 0, 1),
                    ("eduzz", 3, 0, 3, 0, 0), ("toolzz", 2, 0, 2, 0, 0)]
    assert store.query("select source, deliveries, duplicates, conflicts, rate "
                       "from duplicate_rate where day is null order by source")[1] == [
        ("eduzz", 6, 3, 0, 0.5), ("toolzz", 4, 2, 0, 0.5)]
    assert store.query("select distinct source, source_duplicate_rate from freshness "
                       "order by 1")[1] == [("eduzz", 0.5), ("toolzz", 0.5)]


def test_a_repeat_inside_one_batch_and_a_conflicting_copy(store):
    first = replace(raw("eduzz:9", 0), body='{"id": 9, "data": {"x": 1}}')
    again = replace(raw("eduzz:9", 1), body='{"id": 9, "data": {"x": 1}}')
    forged = replace(raw("eduzz:9", 2), body='{"id": 9, "data": {"x": 2}}')
    written = store.write(batch_of((first, []), (again, []), (forged, []),
                                   (raw("eduzz:10", 3), [])), "t")
    assert (written.events, written.duplicates, written.conflicts) == (2, 2, 1)
    assert store.query(f"select {COUNTS} from deliveries")[1] == [("eduzz", 4, 2, 2, 1, 0)]
    ((batch_at,),) = store.query("select batch_at from deliveries")[1]
    day = batch_at.astimezone(ZoneInfo("America/Sao_Paulo")).date()
    assert store.query("select source, day, deliveries, duplicates, conflicts, rate "
                       "from duplicate_rate order by day nulls first")[1] == [
        ("eduzz", None, 4, 2, 1, 0.5), ("eduzz", day, 4, 2, 1, 0.5)]


def test_a_failed_batch_counts_nothing(store):
    bad = batch_of((replace(raw("eduzz:1", 0), source=None), []))  # type: ignore[arg-type]
    with pytest.raises(Error):  # raw_events.source is NOT NULL: nothing is stored
        store.write(bad, "t")
    assert store.query("select count(*) from deliveries")[1] == [(0,)]
    assert store.query("select count(*) from duplicate_rate")[1] == [(0,)]
    assert store.query("select source_duplicate_rate from freshness")[1] == []
