"""Every published example payload through HTTP, the real broker and real DuckDB.

The platforms' examples reuse event ids on purpose (the identity rule: `eduzz:<id>`), so
they run in rounds of distinct event_uids, each round a fresh topic, group and DuckDB file;
within one store the repeated id would rightly be skipped as a redelivery.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from aiohttp import ClientSession

from consumer.ops.broker import free_port
from consumer.settings import ConsumerSettings
from ingest.settings import IngestSettings
from tests.conftest import FIXTURES, SECRET, TOKEN, RunningConsumer, post, serving, source_of
from tests.support.commerce import EXPECTED as COMMERCE

ALPA = "alpaclass:046d47672cf6212d201d6e8b0c191e73"
NUTROR = "nutror:{}"
# (action, learner_key, course_key), read off each fixture by hand.
LEARNING = {
    "alpaclass/student_certificate_accessed": ("certificate_viewed", "fulano.silva@email.com",
                                               ALPA),
    "alpaclass/student_comment_created": ("comment_created", "teste@email.com", ALPA),
    "alpaclass/student_course_finished": ("course_completed", "teste@email.com", ALPA),
    "alpaclass/student_course_last_seen_at": ("course_seen", "teste@email.com", ALPA),
    "alpaclass/student_course_unfinished": ("course_uncompleted", "teste@email.com", ALPA),
    "alpaclass/student_created": ("learner_registered", "fulano@eduzz.com", None),
    "alpaclass/student_lesson_finished": ("lesson_completed", "teste@email.com", ALPA),
    "alpaclass/student_lesson_last_seen": ("lesson_seen", "fulano.s@gmail.com", ALPA),
    "alpaclass/student_lesson_last_seen_at": ("lesson_seen", "teste@email.com", ALPA),
    "alpaclass/student_lesson_marked_as_favorite": ("lesson_favorited", "teste@email.com", ALPA),
    "alpaclass/student_lesson_unfinished": ("lesson_uncompleted", "fulano.s@gmail.com", ALPA),
    "alpaclass/student_lesson_unmarked_as_favorite": ("lesson_unfavorited", "teste@email.com",
                                                      ALPA),
    "alpaclass/student_module_finished": ("module_completed", "teste@email.com", ALPA),
    "alpaclass/student_module_unfinished": ("module_uncompleted", "fulano.s@gmail.com", ALPA),
    "nutror/certificate_viewed": ("certificate_viewed", "learner@eduzz.com",
                                  "nutror:a3cc1883deab35a35dfc4e3dbc9bbc8c65dc5942"),
    "nutror/comment_created": ("comment_created", "fulano@eduzz.com",
                               "nutror:1feb6e6b27ccaf9edee926908f710808e2d6c7e6"),
    "nutror/community_viewed": ("community_viewed", "learner@eduzz.com",
                                "nutror:656c71c4b848dfa44666d2893c3438985bbf0085"),
    "nutror/enrollment_created": ("enrolled", "learner@eduzz.com",
                                  "nutror:6b25298f91736fa32da03d986b354c304ee0442d"),
    "nutror/file_downloaded": ("file_downloaded", "learner@eduzz.com",
                               "nutror:4bba1d18c02755a13ee97521ae61958c3cf9e665"),
    "nutror/inactive_student": ("inactivity_flagged", "learner@eduzz.com",
                                "nutror:6292dab858e745ebc91ba6753619f52ba2502cfc"),
    "nutror/learner_help": ("help_requested", "learner@eduzz.com",
                            "nutror:4bba1d18c02755a13ee97521ae61958c3cf9e665"),
    "nutror/lesson_rated": ("lesson_rated", "learner@eduzz.com",
                            "nutror:656c71c4b848dfa44666d2893c3438985bbf0085"),
    "nutror/lesson_saved": ("lesson_favorited", "learner@eduzz.com",
                            "nutror:4bba1d18c02755a13ee97521ae61958c3cf9e665"),
    "nutror/lesson_started": ("lesson_started", "learner@eduzz.com",
                              "nutror:4bba1d18c02755a13ee97521ae61958c3cf9e665"),
    "nutror/lesson_watched": ("lesson_completed", "learner@eduzz.com",
                              "nutror:4bba1d18c02755a13ee97521ae61958c3cf9e665"),
    "nutror/module_completed": ("module_completed", "learner@eduzz.com",
                                "nutror:4bba1d18c02755a13ee97521ae61958c3cf9e665"),
    "nutror/notation_created": ("note_created", "learner@eduzz.com",
                                "nutror:656c71c4b848dfa44666d2893c3438985bbf0085"),
    "toolzz/activities_course_completed": ("course_completed", "student@toolzz.com",
                                           "toolzz:123456"),
    "toolzz/activities_course_enrollment": ("enrolled", "student@toolzz.com", "toolzz:123456"),
    "toolzz/activities_trail_completed": ("trail_completed", "student@toolzz.com",
                                          "toolzz:123456"),
    "toolzz/members_updated": ("learner_updated", "student@toolzz.com", None),
    "toolzz/newslatter_created": ("newsletter_accepted", "student@toolzz.com", None),
}
NAMES = sorted(f"{p.parent.name}/{p.stem}" for p in FIXTURES.glob("*/*.json"))


def event_uid(name: str) -> str:
    """The contract's identity rule, written out independently of the decoder."""
    body = (FIXTURES / f"{name}.json").read_bytes()
    source = source_of(name)
    event_id = json.loads(body).get("id") if source == "eduzz" else None
    return f"eduzz:{event_id}" if event_id else f"{source}:sha256:" + hashlib.sha256(
        body).hexdigest()


def rounds() -> list[list[str]]:
    """Fixtures split so no round holds an event_uid twice."""
    out: list[list[str]] = []
    for name in NAMES:
        target = next((r for r in out if event_uid(name) not in {event_uid(n) for n in r}), None)
        if target is None:
            target = []
            out.append(target)
        target.append(name)
    return out


async def run_round(bootstrap: str, names: list[str], data_dir: Path) -> dict[str, dict]:
    topic = f"every-{data_dir.name}"
    consumer_settings = ConsumerSettings(bootstrap=bootstrap, topic=topic, group=topic,
                                         data_dir=str(data_dir), poll_timeout_ms=100,
                                         session_timeout_ms=2000)
    ingest = IngestSettings(port=free_port(), bootstrap=bootstrap, topic=topic,
                            eduzz_secrets=SECRET, toolzz_token=TOKEN)
    # Opening a store blocks for a while: off the loop, so the other rounds keep heartbeating.
    consumer = await asyncio.to_thread(RunningConsumer, consumer_settings)
    await consumer.start()
    store = consumer.store
    try:
        async with serving(ingest) as url, ClientSession() as http:
            for name in names:
                status, text = await post(http, url, source_of(name),
                                          (FIXTURES / f"{name}.json").read_bytes())
                assert status == 200, (name, text)
        await consumer.wait_for_events(len(names))
    finally:
        await consumer.stop()
    by_uid = {event_uid(n): n for n in names}
    landed: dict[str, dict] = {n: {"raw": [], "learning_events": [], "commerce_events": []}
                               for n in names}
    for uid, source, event_type in store.query(
            "select event_uid, source, event_type from raw_events")[1]:
        landed[by_uid[uid]]["raw"].append((source, event_type))
    for table, columns in (
            ("learning_events", "action, learner_key, course_key"),
            ("commerce_events", "platform, buyer_key, invoice_id, contract_id, status, "
                                "product_ids, amount, currency, occurred_at")):
        for uid, *values in store.query(f"select event_uid, {columns} from {table}")[1]:
            landed[by_uid[uid]][table].append(tuple(values))
    landed["(dead letters)"] = {"rows": store.query("select * from dead_letters")[1]}
    store.close()
    return landed


@pytest.fixture(scope="module")
def landed(broker, tmp_path_factory) -> dict[str, dict]:
    async def all_rounds() -> dict[str, dict]:
        # The rounds share nothing but the broker (own topic, group, receiver and store), so
        # a few run at once: each spends most of its time waiting for its group to form.
        at_once = asyncio.Semaphore(4)

        async def one(i: int, names: list[str]) -> dict[str, dict]:
            async with at_once:
                return await run_round(broker.bootstrap, names,
                                       tmp_path_factory.mktemp(f"round{i}"))

        results: dict[str, dict] = {}
        for out in await asyncio.gather(*(one(i, names) for i, names in enumerate(rounds()))):
            assert out.pop("(dead letters)")["rows"] == []
            results.update(out)
        return results

    return asyncio.run(all_rounds())


def test_every_fixture_has_an_expectation():
    assert set(NAMES) == set(LEARNING) | set(COMMERCE)
    assert len(rounds()) < len(NAMES)  # rounds, not one pipeline per fixture


@pytest.mark.parametrize("name", NAMES)
def test_fixture_lands_in_its_table(landed, name):
    body = json.loads((FIXTURES / f"{name}.json").read_bytes())
    event_type = body["event"]["slug"] if source_of(name) == "toolzz" else body["event"]
    assert landed[name]["raw"] == [(source_of(name), event_type)]
    if name in LEARNING:
        assert landed[name]["commerce_events"] == []
        assert landed[name]["learning_events"][0] == LEARNING[name]
    else:
        assert landed[name]["learning_events"] == []
        rows = landed[name]["commerce_events"]
        assert rows, name
        assert rows[0] == COMMERCE[name]
