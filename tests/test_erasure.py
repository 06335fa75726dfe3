"""LGPD erasure through the real pipeline (receiver -> broker -> consumer -> DuckDB): a person
with learning events, purchases, dead letters, a conflicting redelivery and an id-only event
is forgotten by the real `learnstream forget` process while the consumer keeps ingesting
others. Then no byte of the store, its WAL or the snapshot names them, every view equals the
journey oracle computed without them, and a redelivery of their events is counted as
suppressed and stores nothing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from consumer.journeys import journeys
from tests.conftest import fixture, post
from tests.support.oracle import expected
from tests.support.simulated import (
    assert_dashboard_states_folded,
    assert_engagement_terms_folded,
    assert_views,
    load,
    post_lanes,
    rows_of,
)

KEY = "test-pseudonym-key-0123456789"
CPF = "123.456.789-09"  # the simulator gives everyone the same CPFs: this one is hers alone
PHONE = "+55 (11) 97777-1234"
OTHER_MAIL = "lucas.other@exemplo.com"  # the e-mail her Blinket ticket names


def extras(email: str, name: str, alpaclass_id: str) -> list[tuple[str, bytes]]:
    """Her traces beyond the simulator's: a purchase (e-mail in another case, with spaces),
    a conflicting redelivery of it, a Blinket ticket naming her by CPF only (unpunctuated, as a
    number), a dead letter, and an AlpaClass event naming her by id only."""
    invoice = json.loads(fixture("myeduzz/invoice_paid"))
    invoice["id"] = "lgpd-invoice-1"
    invoice["data"]["buyer"] = {"name": name, "email": f"  {email.upper()} ", "phone": PHONE}
    changed = json.loads(json.dumps(invoice))
    changed["data"]["status"] = "refunded"  # same id, another body: a conflicting copy
    ticket = json.loads(fixture("blinket/attendance_added"))
    ticket["id"] = "lgpd-ticket-1"
    for who in ("buyer", "participant"):
        ticket["data"][who].update(name="Lucas R.", email=OTHER_MAIL, phone=PHONE)
    ticket["data"]["participant"]["document"]["number"] = int(CPF.replace(".", "").replace(
        "-", ""))
    broken = json.loads(fixture("alpaclass/student_lesson_finished"))
    broken["id"] = "lgpd-broken-1"
    broken["data"]["student"] = {"id": alpaclass_id, "name": name, "email": email}
    broken["data"]["lesson"] = 42  # not an object: a dead letter, kept with its raw row
    by_id = json.loads(fixture("alpaclass/student_lesson_finished"))
    by_id["id"] = "lgpd-by-id-1"
    by_id["data"]["student"] = {"id": alpaclass_id}
    by_id["data"]["course"] = {"id": "lgpd-only-course", "name": "Only she took it"}
    return [("eduzz", json.dumps(b).encode()) for b in (invoice, changed, ticket, broken, by_id)]


def traces(path: Path, needles: list[bytes]) -> list[bytes]:
    """The needles found in the file's bytes (case-sensitive, as written)."""
    data = path.read_bytes() if path.exists() else b""
    return [n for n in needles if n in data]


async def forget(data_dir: Path, *people: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from consumer.cli import main; main()", "forget", "--data-dir",
        str(data_dir), "--timeout",
        "120", *people, env={"LEARNSTREAM_PSEUDONYM_KEY": KEY, "PATH": "/usr/bin:/bin",
                             "PYTHONPATH": str(Path(__file__).parent.parent)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
def consumer_settings(consumer_settings):  # the conftest consumer, with a pseudonym key
    import msgspec

    return msgspec.structs.replace(consumer_settings, pseudonym_key=KEY)


@pytest.mark.slow
async def test_forget_while_ingesting_leaves_no_byte_and_views_equal_the_oracle(
        receiver, consumer):
    ds = journeys(30, 5)
    her = next(d.event.learner for d in ds if d.event.learner.n == 0)
    assert {d.event.platform for d in ds if d.event.learner == her} == {
        "alpaclass", "nutror", "toolzz"}
    hers = [d for d in ds if d.event.learner == her]
    others = [d for d in ds if d.event.learner != her]
    more = extras(her.email or "", her.name, her.alpaclass_id)
    data_dir = Path(consumer.settings.data_dir)

    # Her history and half of the others' arrive; a snapshot holds all of it.
    assert set(await post_lanes(receiver, [*hers, *others[:len(others) // 2]])) == {200}
    async with aiohttp.ClientSession() as http:
        for source, body in more:
            assert (await post(http, receiver, source, body))[0] == 200
    posted = len(hers) + len(others) // 2 + len(more)
    await consumer.caught_up(posted, timeout=90)
    ((error,),) = consumer.rows("select error from dead_letters")
    assert her.email not in error and her.alpaclass_id not in error  # names the field only
    assert consumer.rows("select count(*) from conflicting_deliveries") == [(1,)]
    await asyncio.to_thread(consumer.store.fold)  # her current state in the folded tables
    assert consumer.rows(f"select count(*) from course_state_folded where learner_key = "
                         f"'{her.email}'") != [(0,)]
    await asyncio.to_thread(consumer.worker.snapshots.now)
    needles = [n.encode() for n in (her.email or "", her.name, her.alpaclass_id, OTHER_MAIL,
                                    CPF, CPF.replace(".", "").replace("-", ""), PHONE)]
    before = traces(data_dir / "analytics.duckdb", needles)
    assert her.email and her.email.encode() in before and OTHER_MAIL.encode() in before

    # Forgotten by the real command while the rest of the others arrive.
    rest = asyncio.create_task(post_lanes(receiver, others[len(others) // 2:]))
    status, out, err = await forget(data_dir, f" {her.email.upper()} ,{CPF}")
    assert status == 0, err
    assert not {*traces(data_dir / "learnstream.duckdb", needles),
                *traces(data_dir / "learnstream.duckdb.wal", needles),
                *traces(data_dir / "analytics.duckdb", needles)}
    left = await asyncio.to_thread(lambda: [p.name for p in data_dir.iterdir()])
    assert [name for name in left if "tmp" in name or "clean" in name] == []
    counts = dict(kv.split("=") for kv in out.split())
    assert counts["people"] == "1" and int(counts["raw_events"]) >= len(
        {d.body for d in hers}) // 2
    assert (counts["dead_letters"], counts["conflicting_deliveries"]) == ("1", "1")
    assert set(await rest) == {200}
    # The rewritten file keeps the store's format, so its snapshots still open in DuckDB 1.x.
    assert consumer.rows("select tags['storage_version'] from duckdb_databases() "
                         "where database_name = current_database()") == [("v1.0.0+",)]

    # Their old events come again (a redelivery, or a replay from Kafka): counted, not stored.
    await post_lanes(receiver, hers)
    async with aiohttp.ClientSession() as http:
        for source, body in more:
            await post(http, receiver, source, body)
    await consumer.caught_up(len(ds) + 2 * len(more) + len(hers), timeout=90)
    await consumer.stop()
    assert consumer.rows("select sum(suppressed) from deliveries") == [(len(hers) + len(more),)]
    assert consumer.worker.metrics.suppressed._value.get() == len(hers) + len(more)
    for table, column in (("learning_events", "learner_key"), ("commerce_events", "buyer_key"),
                          ("raw_events", "body::varchar"), ("dead_letters", "decode(body)")):
        assert consumer.rows(f"select count(*) from {table} where lower({column}) like "
                             f"'%{her.email}%' or {column} like '%{her.alpaclass_id}%'"
                             ) == [(0,)], table
    assert_views(consumer.rows, expected(others, received=False))

    # The audit row names her by keyed hash only, with the command's counts.
    person = hmac.new(KEY.encode(), f"email:{her.email}".encode(), hashlib.sha256).hexdigest()
    (people, removed), = consumer.rows("select people, removed from erasures")
    assert people == [person]
    assert {k: str(v) for k, v in json.loads(removed).items()}.items() <= counts.items()


def test_a_learner_named_in_an_erased_event_is_refolded_from_what_is_left(tmp_path):
    """Straight into DuckDB, state folded at every batch: Q's event that also names P (in its
    body) goes with P; Q's folded state must be recomputed without it, and the catalogue of
    the lessons P's events named too. Every view then equals the oracle without those events."""
    import msgspec

    from consumer import control
    from consumer.journeys import identity
    from consumer.store import Store
    from consumer.store.suppression import use_key

    ds = journeys(120, 7)
    her = ds[0].event.learner
    other = next(d for d in ds if d.event.learner != her and d.event.platform == "alpaclass"
                 and d.event.action == "lesson_completed")
    uid = identity(other)
    mentioning = [msgspec.structs.replace(d, body=d.body[:-1] + b', "note": "' +
                                          her.email.encode() + b'"}')
                  if identity(d) == uid else d for d in ds]
    store = Store(tmp_path / "learnstream.duckdb", fold_at=50)
    use_key(store, KEY)
    # Each batch folds (fold_at 50): four folds before the forget, not twelve (~0.3 s each).
    load(store, mentioning, batch_size=600)
    assert store.query("select count(*) from course_state_folded where learner_key = $1",
                       [other.event.learner.email])[1] != [(0,)]
    counts = control.apply(store, "forget", {"people": [[f"email:{her.email}"]]})
    assert counts["raw_events"] == len({identity(d) for d in ds if d.event.learner == her}) + 1
    kept = [d for d in ds if d.event.learner != her and identity(d) != uid]
    assert_views(rows_of(store), expected(kept))
    # The engagement terms taken back and added for the touched learners.
    assert_engagement_terms_folded(store)
    assert_dashboard_states_folded(store)
    store.close()


# What a store's schema is made of, per catalogue function, in a comparable order. Not the
# views' SQL: DuckDB renders a view read back from a file in other words.
CATALOGUE = {
    "tables": "select table_name, comment from duckdb_tables() where database_name = "
              "current_database() order by all",
    "columns": "select table_name, column_name, data_type, column_default, is_nullable, comment "
               "from duckdb_columns() where database_name = current_database() order by all",
    "constraints": "select table_name, constraint_type, constraint_column_names::varchar, "
                   "constraint_text from duckdb_constraints() where database_name = "
                   "current_database() order by all",
    "views": "select view_name, comment from duckdb_views() where database_name = "
             "current_database() and not internal order by all",
    "macros": "select function_name, comment from duckdb_functions() where database_name = "
              "current_database() and schema_name = 'main' order by all",
}


def test_the_rewritten_file_holds_every_row_under_a_fresh_stores_schema(tmp_path):
    """Store.rewrite copies tables side by side and gives raw_events its primary key after its
    rows: the file it swaps in has every row, and the catalogue (constraints, defaults,
    comments, views, macros) of a store created from sql/, with the key enforced."""
    import duckdb

    from consumer.store import Store

    store = Store(tmp_path / "learnstream.duckdb", fold_at=50)
    load(store, journeys(60, 3), batch_size=400)  # each batch folds: folded rows to copy
    tables = [t for (t,) in store.query("select table_name from duckdb_tables() where "
                                        "database_name = current_database()")[1]]
    rows = {t: sorted(map(repr, store.query(f"select * from {t}")[1])) for t in tables}
    assert rows["raw_events"] and rows["learning_events"] and rows["lesson_state_folded"]
    store.rewrite()
    assert {t: sorted(map(repr, store.query(f"select * from {t}")[1])) for t in tables} == rows
    fresh = Store(tmp_path / "fresh.duckdb")
    for name, sql in CATALOGUE.items():
        assert store.query(sql)[1] == fresh.query(sql)[1], name
    uid = store.query("select event_uid from raw_events limit 1")[1][0][0]
    with pytest.raises(duckdb.ConstraintException):
        store.query("insert into raw_events select * from raw_events where event_uid = $1",
                    [uid])
    fresh.close()
    store.close()
