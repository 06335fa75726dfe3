"""`rebuild` and `replay_dead_letters` on real DuckDB files, without a broker."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumer.ops import repair
from consumer.ops.repair import RebuildResult, ReplayResult, rebuild, replay_dead_letters
from consumer.rows import Batch, CommerceRow, DeadLetter, Decoded, LearningRow
from consumer.settings import ConsumerSettings
from consumer.sources import toolzz
from consumer.sources.decoder import Decoder, Message
from consumer.store import Store, read
from tests.conftest import fixture, source_of

ROOT = Path(__file__).parent.parent
T0 = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
DECODER = Decoder(ConsumerSettings().zones())
DERIVED = ("learning_events", "commerce_events")
# The current state follows the re-derived events (and nothing is left pending after a close).
STATE = ("lesson_state_folded", "module_state_folded", "course_state_folded",
         "lesson_catalogue_folded")
UNTOUCHED = ("raw_events", "consumer_offsets", "conflicting_deliveries")
# Distinct event ids (the published examples share some); alpaclass/student_module_unfinished
# has no id nor sentDate, so its uid is the body's hash and its time the received_at header.
CORPUS = ["alpaclass/student_lesson_finished", "alpaclass/student_module_unfinished",
          "nutror/enrollment_created", "nutror/lesson_watched", "myeduzz/invoice_paid",
          "sun/cart_abandonment", "blinket/attendance_checkin",
          "toolzz/activities_course_completed", "toolzz/activities_course_enrollment"]


def settings_in(tmp_path: Path) -> ConsumerSettings:
    return ConsumerSettings(data_dir=str(tmp_path / "data"))


def with_id(name: str, event_id: str, email: object = None) -> bytes:
    """A fixture under another event id; with `email`, one the current decoder rejects."""
    body = json.loads(fixture(name))
    body["id"] = event_id
    if email is not None:
        body["data"]["student"]["email"] = email
    return json.dumps(body).encode()


def message(body: bytes, offset: int, partition: int = 0, source: str = "eduzz",
            **headers: str) -> Message:
    received = (T0 + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")
    return Message(body, [("source", source.encode()), ("received_at", received.encode()),
                          *((k.replace("_", "-"), v.encode()) for k, v in headers.items())],
                   partition, offset, 0)


def corpus() -> list[Message]:
    msgs = [message(fixture(n), i, i % 3, source_of(n)) for i, n in enumerate(CORPUS)]
    # Named only by its x-subscription header, which raw_events does not keep.
    bare = json.dumps(json.loads(fixture("myeduzz/contract_created"))["data"]).encode()
    msgs.append(message(bare, 20, 2, x_subscription="lk354pk:myeduzz.contract_created"))
    msgs.append(message(b'{"id": "u1", "event": "brand.new_event", "data": {}}', 21, 2))
    return msgs


def write(path: Path, *items: Message | tuple[Message, Decoded]) -> None:
    """Store messages (decoded now) or (message, what an older decoder made of it)."""
    batch = Batch()
    for item in items:
        msg, out = (item, DECODER.decode(item)) if isinstance(item, Message) else item
        batch.add(msg.partition, msg.offset, out)
    store = Store(path)
    store.write(batch, "learnstream.raw")
    store.close()


def table(path: Path, name: str) -> list[tuple[object, ...]]:
    # stored_seq numbers rows in the order one store wrote them: not part of what they say.
    columns = "* exclude (stored_seq)" if name in ("learning_events", "commerce_events") else "*"
    return read(path, f"select {columns} from {name} order by all")[1]


def tables(path: Path, names: tuple[str, ...]) -> dict[str, list[tuple[object, ...]]]:
    return {name: table(path, name) for name in names}


def test_rebuild_rederives_exactly_what_a_fresh_decode_gives(tmp_path, monkeypatch):
    settings, reference = settings_in(tmp_path), tmp_path / "reference.duckdb"
    write(settings.db_path, *corpus())
    write(reference, *corpus())
    before = tables(settings.db_path, (*UNTOUCHED, "dead_letters"))
    store = Store(settings.db_path)  # a mapping change, as far as the stored rows can tell
    store.query("delete from learning_events where platform = 'nutror'")
    store.query("update learning_events set action = 'lesson_seen' where platform = 'toolzz'")
    store.append("commerce_events", [CommerceRow("bogus", "sun", "sun.x", T0)])
    store.close()
    monkeypatch.setattr(repair, "CHUNK", 4)  # several chunks, one transaction

    result = rebuild(settings)

    expected = tables(reference, DERIVED)
    assert tables(settings.db_path, DERIVED) == expected
    assert tables(settings.db_path, STATE) == tables(reference, STATE)
    assert table(reference, "course_state_folded")
    assert read(reference, "select count(*) from learning_events "
                           "where stored_seq >= fold_since()")[1] == [(0,)]  # folded at close
    assert result == RebuildResult(len(CORPUS) + 2, len(expected["learning_events"]),
                                   len(expected["commerce_events"]), 0, 0)
    assert len(expected["commerce_events"]) == 4  # the header-named contract included
    assert tables(settings.db_path, (*UNTOUCHED, "dead_letters")) == before
    # The rebuilt message has the stored bytes: every derived row names a stored event_uid.
    assert read(settings.db_path, "select count(*) from learning_events where event_uid "
                                  "not in (select event_uid from raw_events)")[1] == [(0,)]
    assert rebuild(settings) == result  # idempotent
    assert tables(settings.db_path, DERIVED) == expected
    # A real mapping change reaches the stored events.
    slug = "activities.course.completed"
    monkeypatch.setitem(toolzz.SLUGS, slug, toolzz.SLUGS[slug]._replace(action="course_seen"))
    assert read(settings.db_path, "select course_completed from learner_course_progress "
                                  "where course_key like 'toolzz:%'")[1] == [(True,)]
    rebuild(settings)
    assert read(settings.db_path, "select action from learning_events "
                                  f"where event_type = '{slug}'")[1] == [("course_seen",)]
    # ... and the current state with them: the old completion is not merged with the new.
    assert read(settings.db_path, "select course_completed from learner_course_progress "
                                  "where course_key like 'toolzz:%'")[1] == [(False,)]


def test_rebuild_makes_raw_backed_dead_letters_follow_the_current_decoder(tmp_path):
    settings = settings_in(tmp_path)
    fixed = message(with_id("alpaclass/student_lesson_finished", "fixed"), 1)
    now_failing = message(with_id("alpaclass/student_course_finished", "broken", [1]), 2)
    still_failing = message(with_id("alpaclass/student_course_finished", "still", [2]), 3)
    invalid_json = message(b'{"id": "x", "event":', 4)
    fixed_out, failing_out = DECODER.decode(fixed), DECODER.decode(now_failing)
    still_out = DECODER.decode(still_failing)
    assert fixed_out.learning and failing_out.dead and still_out.dead
    old_letter = DeadLetter(0, 1, T0, "eduzz", "invalid_event", "old decoder said no", fixed.value)
    stale = DeadLetter(0, 3, T0, "eduzz", "invalid_event", "stale message", still_failing.value)
    old_rows = [LearningRow("eduzz:broken", "alpaclass", "x", "course_completed", T0, T0,
                            kafka_offset=2)]
    write(settings.db_path, (fixed, Decoded(fixed_out.raw, [], [], old_letter)),
          (now_failing, Decoded(failing_out.raw, old_rows, [], None)),
          (still_failing, Decoded(still_out.raw, [], [], stale)), invalid_json)
    raw_before = table(settings.db_path, "raw_events")

    result = rebuild(settings)

    assert result == RebuildResult(3, len(fixed_out.learning), 0, 1, 1)
    letters = read(settings.db_path, "select kafka_offset, error_kind, error from dead_letters "
                                     "order by kafka_offset")[1]
    assert letters == [(2, "invalid_event", failing_out.dead.error),
                       (3, "invalid_event", "stale message"),  # one was there already
                       (4, "invalid_json", DECODER.decode(invalid_json).dead.error)]
    assert read(settings.db_path, "select distinct event_uid from learning_events")[1] == [
        ("eduzz:fixed",)]
    assert table(settings.db_path, "raw_events") == raw_before
    assert rebuild(settings) == RebuildResult(3, len(fixed_out.learning), 0, 0, 0)


def test_replay_moves_what_now_decodes_and_keeps_what_still_fails(tmp_path, monkeypatch):
    settings = settings_in(tmp_path)
    stored = message(with_id("alpaclass/student_lesson_finished", "stored"), 0)
    rawless = message(with_id("alpaclass/student_course_finished", "rawless"), 1)
    bare = json.dumps(json.loads(fixture("myeduzz/contract_created"))["data"]).encode()
    backed = message(bare, 2, x_subscription="lk354pk:myeduzz.contract_created")
    again = message(stored.value, 3)  # the stored event once more: the first write wins
    invalid_json = message(b"{not json", 4)
    bad_email = message(with_id("alpaclass/student_course_finished", "bad", []), 5)

    def letter(msg: Message, kind: str = "invalid_event") -> DeadLetter:
        return DeadLetter(msg.partition, msg.offset, T0, "eduzz", kind, "old error", msg.value)

    write(settings.db_path, stored, (rawless, Decoded(None, [], [], letter(rawless))),
          (backed, Decoded(DECODER.decode(backed).raw, [], [], letter(backed))),
          (again, Decoded(None, [], [], letter(again, "invalid_json"))),
          (invalid_json, Decoded(None, [], [], letter(invalid_json, "invalid_json"))),
          (bad_email, Decoded(None, [], [], letter(bad_email, "invalid_json"))))
    raw_before = table(settings.db_path, "raw_events")
    monkeypatch.setattr(repair, "CHUNK", 2)

    result = replay_dead_letters(settings)

    rows_of = DECODER.decode(rawless)
    assert result == ReplayResult(examined=5, replayed=3, still_failing=2, raw_events=2,
                                  learning=len(rows_of.learning), commerce=1, duplicates=1)
    uids = read(settings.db_path, "select event_uid from raw_events order by kafka_offset")[1]
    assert uids == [("eduzz:stored",), ("eduzz:rawless",), (DECODER.decode(backed).raw.event_uid,),
                    ("eduzz:bad",)]  # still failing, but kept like the consumer keeps it
    assert read(settings.db_path, "select event_uid, kafka_offset from learning_events "
                                  "order by all")[1] == [("eduzz:rawless", 1), ("eduzz:stored", 0)]
    (contract,) = read(settings.db_path, "select contract_id, kafka_offset from commerce_events")[1]
    assert contract == ("3456", 2)  # named by the raw row's event_type, as x-subscription did
    letters = read(settings.db_path, "select kafka_offset, error_kind, error, body "
                                     "from dead_letters order by kafka_offset")[1]
    assert letters == [(4, "invalid_json", DECODER.decode(invalid_json).dead.error, b"{not json"),
                       (5, "invalid_event", DECODER.decode(bad_email).dead.error, bad_email.value)]
    assert set(raw_before) <= set(table(settings.db_path, "raw_events"))  # only added to

    after = tables(settings.db_path, ("dead_letters", "raw_events", *DERIVED))
    assert replay_dead_letters(settings) == ReplayResult(2, 0, 2, 0, 0, 0, 0)
    assert tables(settings.db_path, ("dead_letters", "raw_events", *DERIVED)) == after


def test_a_failed_rebuild_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    settings = settings_in(tmp_path)
    write(settings.db_path, *corpus())
    before = tables(settings.db_path, (*DERIVED, "dead_letters"))

    append, calls = Store.append, []

    def append_then_fail(store: Store, name: str, rows: list[object]) -> int:
        calls.append(name)
        if len(calls) > 3:  # the first chunk is written, the second fails
            raise OSError("disk full")
        return append(store, name, rows)

    monkeypatch.setattr(Store, "append", append_then_fail)
    monkeypatch.setattr(repair, "CHUNK", 4)
    with pytest.raises(OSError, match="disk full"):
        rebuild(settings)
    assert tables(settings.db_path, (*DERIVED, "dead_letters")) == before


def test_a_store_in_use_or_missing_is_a_clear_error(tmp_path):
    settings = settings_in(tmp_path)
    for repair_it in (rebuild, replay_dead_letters):
        with pytest.raises(RuntimeError, match="does not exist") as missing:
            repair_it(settings)
        assert str(settings.db_path) in str(missing.value)
    assert not settings.db_path.exists()  # not created empty

    write(settings.db_path, *corpus())
    holder = ("import sys; from consumer.store import Store; s = Store(sys.argv[1]); "
              "print('open', flush=True); sys.stdin.read()")
    with subprocess.Popen([sys.executable, "-c", holder, str(settings.db_path)], cwd=ROOT,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as consumer:
        assert consumer.stdout is not None and consumer.stdout.readline() == "open\n"
        for repair_it in (rebuild, replay_dead_letters):
            with pytest.raises(RuntimeError, match="in use by a running consumer: stop it") as busy:
                repair_it(settings)
            assert str(settings.db_path) in str(busy.value)
        consumer.communicate("", timeout=30)
    assert rebuild(settings).raw_events == len(CORPUS) + 2  # usable once the consumer stopped
