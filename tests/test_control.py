"""The route from a command to the store's owner (consumer/control.py): applied directly when
no consumer runs, by the running consumer between batches otherwise, withdrawn on timeout."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from consumer import control
from consumer.store import ReadOnly, Store, owner
from tests.conftest import fixture, post, source_of

NOTES = "control_notes"


def note(store: Store, payload: dict[str, Any]) -> dict[str, int]:
    """A kind for these tests: add a note, count the notes and the raw events."""
    if not isinstance(payload.get("text"), str):
        raise control.BadRequest("text: expected a string")
    store.query(f"create table if not exists {NOTES} (text varchar)")
    store.query(f"insert into {NOTES} values ($1)", [payload["text"]])
    return {
        NOTES: store.query(f"select count(*) from {NOTES}")[1][0][0],
        "raw_events": store.query("select count(*) from raw_events")[1][0][0],
    }


@pytest.fixture(autouse=True)
def note_kind():
    control.EXTRA["note"] = control.Kind("note", note)
    yield
    control.EXTRA.pop("note")


def notes(path: Path) -> list[str]:
    with ReadOnly(path) as db:
        return [r[0] for r in db.query(f"select text from {NOTES} order by text")[1]]


def test_without_a_consumer_the_command_applies_it_itself(tmp_path):
    db = tmp_path / "learnstream.duckdb"
    Store(db).close()
    republished = []
    counts = control.submit(
        db,
        tmp_path,
        "note",
        {"text": "a"},
        timeout=5,
        direct=lambda store: republished.append(store.path),
    )
    assert counts == {NOTES: 1, "raw_events": 0}
    assert republished == [str(db)]
    assert notes(db) == ["a"]
    assert list(control.requests_dir(tmp_path).iterdir()) == []  # nothing was queued
    with pytest.raises(control.BadRequest, match="text: expected a string"):
        control.submit(db, tmp_path, "note", {"text": 1}, timeout=5)
    with pytest.raises(control.BadRequest, match="unknown request kind 'nope'"):
        control.submit(db, tmp_path, "nope", {}, timeout=5)
    assert notes(db) == ["a"]  # a refused request changed nothing


async def test_a_running_consumer_applies_it_between_batches(receiver, consumer):
    settings = consumer.settings
    names = [
        "alpaclass/student_lesson_finished",
        "nutror/lesson_watched",
        "toolzz/activities_course_completed",
    ]

    async def ingest() -> None:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            for name in names:
                assert (await post(http, receiver, source_of(name), fixture(name)))[0] == 200
                await asyncio.sleep(0.05)

    feeding = asyncio.create_task(ingest())
    first = await asyncio.to_thread(
        control.submit, settings.db_path, settings.data_dir, "note", {"text": "while ingesting"}, 20
    )
    await feeding
    await consumer.wait_for_events(3)
    second = await asyncio.to_thread(
        control.submit, settings.db_path, settings.data_dir, "note", {"text": "after"}, 20
    )
    assert first[NOTES] == 1 and second == {NOTES: 2, "raw_events": 3}
    assert consumer.worker.requests.served == 2
    # The consumer republished the snapshot after each request: readers see the change.
    assert notes(settings.snapshot_path) == ["after", "while ingesting"]
    with pytest.raises(control.BadRequest, match="text: expected a string"):
        await asyncio.to_thread(
            control.submit, settings.db_path, settings.data_dir, "note", {"text": None}, 20
        )
    assert consumer.rows(f"select count(*) from {NOTES}") == [(2,)]
    assert sorted(p.name for p in control.requests_dir(settings.data_dir).iterdir()) == []


def test_a_request_nobody_takes_is_withdrawn(tmp_path):
    db = tmp_path / "learnstream.duckdb"
    Store(db).close()
    held = owner.take(db)  # a "consumer" that never serves
    try:
        with pytest.raises(control.Timeout, match=r"no consumer took the request within 0\.5 s"):
            control.submit(db, tmp_path, "note", {"text": "x"}, timeout=0.5)
    finally:
        owner.release(held)
    assert list(control.requests_dir(tmp_path).iterdir()) == []
    with ReadOnly(db) as read:  # never applied
        assert read.query(f"select count(*) from duckdb_tables() where table_name = '{NOTES}'")[
            1
        ] == [(0,)]


async def test_a_request_left_by_a_stopped_consumer_is_taken_back(tmp_path):
    db = tmp_path / "learnstream.duckdb"
    Store(db).close()
    held = owner.take(db)
    submitted = asyncio.create_task(
        asyncio.to_thread(control.submit, db, tmp_path, "note", {"text": "late"}, 10)
    )
    for _ in range(500):  # until the command has queued it
        if list(control.requests_dir(tmp_path).glob("*.request")):
            break
        await asyncio.sleep(0.02)
    owner.release(held)  # the consumer stops without serving it
    assert (await submitted)[NOTES] == 1
    assert notes(db) == ["late"]
    assert list(control.requests_dir(tmp_path).iterdir()) == []


def test_the_owner_lock_refuses_a_second_store(tmp_path):
    db = tmp_path / "learnstream.duckdb"
    first = Store(db)
    try:
        assert owner.held(db)
        with pytest.raises(owner.InUse, match="in use by a running consumer"):
            Store(db)
    finally:
        first.close()
    assert not owner.held(db)


def test_a_result_file_is_whole_json(tmp_path):
    path = tmp_path / "x.result"
    control.write_json(path, {"counts": {"a": 1}})
    assert json.loads(path.read_text()) == {"counts": {"a": 1}}
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "x.result.tmp").exists()
