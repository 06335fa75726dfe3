"""The dedupe's prefilter (consumer/store/seen.py): it may say "maybe" for a new event_uid,
never "no" for a stored one, across merges, restarts, rollbacks and rows put in by SQL."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from msgspec.structs import replace

from consumer.store import Store, apply_schema, seen
from consumer.store.seen import Seen
from tests.support.rows import batch_of, learn, raw


def test_every_stored_hash_is_a_maybe_and_merges_keep_them(monkeypatch):
    monkeypatch.setattr(seen, "MERGE_AT", 5)  # merge into the main array every few adds
    con = duckdb.connect()
    apply_schema(con)
    filt = Seen(con)
    uids = [f"eduzz:{i}" for i in range(60)]
    for i in range(0, 40, 3):
        filt.add(filt.hashes(con, uids[i:i + 3]))
    stored, new = uids[:42], uids[42:]
    assert filt.maybe(filt.hashes(con, stored)).all()
    # 64-bit hashes of a handful of keys: a false "maybe" here would be a 2^-58 event
    assert not filt.maybe(filt.hashes(con, new)).any()
    assert filt.nbytes == 8 * 42


def test_hashes_keep_the_order_of_the_uids():
    con = duckdb.connect()
    uids = [f"toolzz:sha256:{i:064x}" for i in range(2000)]
    direct = [con.execute("select hash($1)", [u]).fetchall()[0][0] for u in uids[:50]]
    assert Seen.hashes(con, uids)[:50].tolist() == direct
    # A small batch's uids go by a list parameter, a large one's by a registered column
    # (seen.LIST_BELOW): the same hash either way.
    assert Seen.hashes(con, uids[:seen.LIST_BELOW - 1]).tolist() \
        == Seen.hashes(con, uids)[:seen.LIST_BELOW - 1].tolist()
    assert Seen.hashes(con, uids[:10]).tolist() == direct[:10]
    assert Seen.hashes(con, []).dtype == np.uint64


def test_hashes_of_a_large_batch_keep_its_order():
    # Many vectors of a registered column, which DuckDB may scan on several threads: the
    # hashes must still come back in the uids' order (a list_transform keeps it by definition).
    con = duckdb.connect(config={"threads": 4})
    uids = [f"eduzz:{i * 7919 % 50_000}" for i in range(50_000)]
    ((listed,),) = con.execute("select list_transform($1::varchar[], lambda u: hash(u))",
                               [uids]).fetchall()
    assert Seen.hashes(con, uids).tolist() == listed


def test_a_restart_loads_every_stored_event_uid(tmp_path):
    store = Store(tmp_path / "db.duckdb")
    store.write(batch_of(*((raw(f"eduzz:{i}", i), []) for i in range(30))), "t")
    store.close()
    store = Store(tmp_path / "db.duckdb")
    again = batch_of(*((raw(f"eduzz:{i}", 100 + i), []) for i in range(25, 35)))
    written = store.write(again, "t")
    assert (written.events, written.duplicates) == (5, 5)
    assert store.query("select count(*), count(distinct event_uid) from raw_events")[1] == [
        (35, 35)]
    store.close()


def test_rows_put_in_by_sql_cost_one_failed_batch_never_a_double(tmp_path):
    """A raw row added behind the Store's back is unknown to its prefilter: the primary key
    refuses the batch, the rollback reads the prefilter again, and the retry dedupes it."""
    store = Store(tmp_path / "db.duckdb")
    assert store._seen.nbytes == 0  # read when first needed: read now, before the row
    store.query("insert into raw_events values ('eduzz:9', 'eduzz', 'x', now(), null, "
                "'{\"id\": 9}', 0, 99)")
    b = batch_of((raw("eduzz:9", 0), [learn("eduzz:9", 0, "course_seen")]),
                 (raw("eduzz:10", 1), [learn("eduzz:10", 1, "course_seen")]))
    with pytest.raises(duckdb.ConstraintException):
        store.write(b, "t")
    written = store.write(b, "t")
    assert (written.events, written.duplicates, written.learning) == (1, 1, 1)
    assert store.query("select event_uid, kafka_offset from raw_events order by 1")[1] == [
        ("eduzz:10", 1), ("eduzz:9", 99)]
    store.close()


def test_a_rolled_back_batch_leaves_only_harmless_maybes():
    store = Store(":memory:")
    bad = batch_of((raw("eduzz:1", 0), []), (raw("eduzz:2", 1), []))
    bad.learning.append(replace(learn("eduzz:2", 1, "course_seen"), platform=None))  # type: ignore[arg-type]
    with pytest.raises(duckdb.Error):
        store.write(bad, "t")
    ok = batch_of((raw("eduzz:1", 0), []), (raw("eduzz:2", 1), []))
    assert store.write(ok, "t").events == 2
    assert store.query("select count(*) from raw_events")[1] == [(2,)]
