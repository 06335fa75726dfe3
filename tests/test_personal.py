"""Personal data, without Kafka: identities in every shape the platforms send, suppression of
a batch, the body pattern's edges, `person` against the tables, pseudonymized exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consumer.ops.forget import people_of
from consumer.readers import export, person, query
from consumer.rows import Batch
from consumer.settings import ConsumerSettings
from consumer.snapshot import publish
from consumer.sources.decoder import Decoder, Message
from consumer.sources.personal import (
    NotAnIdentifier,
    Suppression,
    identity,
    in_text,
    keyed,
    of_rows,
)
from consumer.store import ReadOnly, Store
from consumer.store.erase import body_pattern, in_bodies
from tests.conftest import fixture

KEY = "personal-test-key-0123456789"
NAMES = ["alpaclass/student_lesson_finished", "toolzz/activities_course_completed",
         "myeduzz/invoice_paid", "blinket/attendance_added", "nutror/lesson_watched"]
# What the fixtures say about people: none may leave in a pseudonymized export.
PERSONAL = [b"teste@email.com", b"student@toolzz.com", b"alice.johnson@example.com",
            b"mariasilva@teste.com", b"learner@eduzz.com", b"Alice Johnson", b"Maria Silva",
            b"Ciclano da Silva", b"123.456.789-99", b"99999999999", b"555-789-1234",
            b"457391c9c82bfdcbb4947278c0401e41", b"987654321"]


def decoded(names: list[str], bodies: dict[str, bytes] | None = None) -> Batch:
    decoder, batch = Decoder(ConsumerSettings().zones()), Batch()
    for i, name in enumerate(names):
        source = "toolzz" if name.startswith("toolzz") else "eduzz"
        body = (bodies or {}).get(name, fixture(name))
        batch.add(0, i, decoder.decode(Message(body, [("source", source.encode()), (
            "received_at", b"2024-01-01T00:00:00+00:00")], 0, i, 0)))
    return batch


def test_identities_in_every_shape_normalise_to_one():
    assert {identity(x) for x in ("teste@email.com", "  Teste@EMAIL.com ")} == {
        "email:teste@email.com"}
    assert {identity(x) for x in ("123.456.789-99", "12345678999", " 123456789-99")} == {
        "cpf:12345678999"}
    assert identity("Toolzz:987654321") == "id:toolzz:987654321"
    with pytest.raises(NotAnIdentifier, match="not an e-mail, a CPF or a learner key"):
        identity("Maria")
    assert people_of(["A@x.com,123.456.789-99", "a@x.com , 12345678999", "b@x.com"]) == [
        ["email:a@x.com", "cpf:12345678999"], ["email:b@x.com"]]
    # In bodies: any case; a CPF punctuated, bare, or a JSON number; not inside a longer number.
    assert in_text('{"e": "Student@Toolzz.COM", "cpf": "123.456.789-99", "n": 99999999999, '
                   '"phone": "+5515999999999"}') == {
        "email:student@toolzz.com", "cpf:12345678999", "cpf:99999999999"}


def test_ids_sent_as_numbers_or_strings_are_one_identity():
    toolzz = json.loads(fixture("toolzz/activities_course_completed"))
    as_string = json.loads(json.dumps(toolzz))
    as_string["data"]["user"]["id"] = str(toolzz["data"]["user"]["id"])
    rows = [decoded(["toolzz/activities_course_completed"], {
        "toolzz/activities_course_completed": json.dumps(b).encode()}).learning
        for b in (toolzz, as_string)]
    assert of_rows(rows[0], []) == of_rows(rows[1], []) == {
        "email:student@toolzz.com", "id:toolzz:987654321"}


def test_suppression_finds_the_messages_naming_an_erased_person():
    batch = decoded(NAMES)
    erased = Suppression(KEY.encode(), {keyed(KEY.encode(), "cpf:99999999999"),
                                        keyed(KEY.encode(), "email:teste@email.com")})
    assert erased.positions(batch) == {(0, 0), (0, 3)}  # by e-mail; by CPF in the body only
    assert Suppression(b"another key, as long as the first", erased.hashes
                       ).positions(batch) == set()


def test_the_body_pattern_matches_whole_identifiers_only():
    import re

    pattern = body_pattern(["email:bob@x.com", "cpf:12345678999"])
    assert pattern
    rx = re.compile(pattern.replace("(?i)", ""), re.IGNORECASE)
    for text in ('{"e": "BOB@x.com"}', '"cpf": "123.456.789-99"', '"n": 12345678999'):
        assert rx.search(text), text
    for text in ('{"e": "jimbob@x.com"}', '{"e": "bob@x.com.br"}', '"n": 912345678999'):
        assert not rx.search(text), text


# Bodies at the pattern's edges: case, a quote inside the local part, a second '@' before
# the address, the long s and the Kelvin sign RE2 folds to s and k, CPFs in every shape.
EDGES = ['{"e": "BOB@x.com"}', '{"e": "jimbob@x.com"}', '{"e": "bob@x.com.br"}', "x bob@x.com,",
         "bob@x.com.", "o'brien@y.org", "obrien@y.org", '{"e":"\u017fue@z.com"}', "sue@z.com",
         "\u212aim@k.com", "JOS\u00c9@x.com", "foo@bob@x.com", "foo.bob@x.com",
         '"cpf": "123.456.789-99"', '"n": 12345678999', '"n": 912345678999',
         "nobody@nowhere.com", "no address at all"]


@pytest.mark.parametrize("people", [
    ["email:bob@x.com"], ["email:o'brien@y.org", "email:sue@z.com", "email:kim@k.com"],
    ["email:bob@x.com", "cpf:12345678999"], ["cpf:12345678999"], ["email:jos\u00e9@x.com"]])
def test_the_body_prefilter_matches_exactly_what_the_pattern_matches(people):
    """in_bodies only skips bodies the pattern cannot match: the same bodies, in DuckDB."""
    import duckdb

    con = duckdb.connect()
    con.execute("create table b as select unnest($1::varchar[]) as body", [EDGES])
    pattern = body_pattern(people)
    assert pattern
    where, args = in_bodies("body", people, pattern)
    fast = con.execute(f"select body from b where {where} order by all", args).fetchall()
    assert fast == con.execute("select body from b where regexp_matches(body, $1) order by all",
                               [pattern]).fetchall()
    assert fast  # every case names someone in EDGES


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    store = Store(tmp_path / "learnstream.duckdb")
    store.write(decoded(NAMES), "t")
    publish(store, tmp_path / "analytics.duckdb")
    store.close()
    return tmp_path / "analytics.duckdb"


def test_person_shows_what_the_tables_hold(snapshot, capsys, monkeypatch):
    person.main(["--snapshot", str(snapshot), "--format", "json", " Student@Toolzz.com "])
    doc = json.loads(capsys.readouterr().out)
    with ReadOnly(snapshot) as db:
        uid = db.query("select event_uid from learning_events where learner_id = '987654321'"
                       )[1][0][0]
        assert [r["event_uid"] for r in doc["learning_events"]] == [uid]
        assert [r["body"] for r in doc["raw_events"]] == [
            db.query("select body from raw_events where event_uid = $1", [uid])[1][0][0]]
        assert [(r["course_key"], r["course_completed"]) for r in doc["current_state"]] == \
            db.query("select course_key, course_completed from learner_course_state "
                     "where learner_key = 'student@toolzz.com'")[1]
    assert doc["identities"] == ["email:student@toolzz.com", "id:toolzz:987654321"]
    assert doc["purchases"] == doc["dead_letters"] == doc["conflicting_deliveries"] == []
    person.main(["--snapshot", str(snapshot), "--format", "json", "MariaSilva@teste.com"])
    purchases = json.loads(capsys.readouterr().out)["purchases"]
    assert [p["buyer_key"] for p in purchases] == ["mariasilva@teste.com"]


def exported(snapshot: Path, out: Path, key: str, monkeypatch) -> dict[str, bytes]:
    monkeypatch.setenv("LEARNSTREAM_PSEUDONYM_KEY", key)
    export.main(["--snapshot", str(snapshot), "--format", "csv", "--out", str(out),
                 "--pseudonymize"])
    # Sorted lines: a view without ORDER BY may list its rows in any order.
    return {p.name: b"\n".join(sorted(p.read_bytes().splitlines())) for p in out.iterdir()}


def test_pseudonymized_exports_hold_no_identifier_and_are_stable_per_key(
        snapshot, tmp_path, monkeypatch, capsys):
    first = exported(snapshot, tmp_path / "a", KEY, monkeypatch)
    again = exported(snapshot, tmp_path / "b", KEY, monkeypatch)
    other = exported(snapshot, tmp_path / "c", KEY + "-other", monkeypatch)
    everything = b"".join(first.values())
    assert [n for n in PERSONAL if n in everything] == []
    for files in (first, again, other):
        files.pop("snapshot_info.csv")  # its age_seconds is read at export time
    assert first == again  # one key: the same pseudonyms
    assert first["learning_events.csv"] != other["learning_events.csv"]
    # The views group by pseudonym as they did by key: same shape, no identifier.
    assert first["course_funnel.csv"] == other["course_funnel.csv"]
    assert len(first["learner_course_progress.csv"].splitlines()) == 4  # header + 3 learners
    capsys.readouterr()
    monkeypatch.setenv("LEARNSTREAM_PSEUDONYM_KEY", KEY)
    query.main(["--snapshot", str(snapshot), "--format", "json", "--pseudonymize",
                "select learner_key, learner_email, learner_name from learning_events "
                "where platform = 'toolzz'"])
    (row,) = json.loads(capsys.readouterr().out)
    expected = keyed(KEY.encode(), "pseudonym:email:student@toolzz.com")[:20]
    assert row["learner_key"] == row["learner_email"] == "p_" + expected
    assert row["learner_name"].startswith("p_") and row["learner_name"] != row["learner_key"]


def test_pseudonymize_without_a_key_refuses_in_one_line(snapshot, tmp_path, monkeypatch,
                                                         capsys):
    monkeypatch.delenv("LEARNSTREAM_PSEUDONYM_KEY", raising=False)
    with pytest.raises(SystemExit):
        query.main(["--snapshot", str(snapshot), "--pseudonymize", "select 1"])
    assert capsys.readouterr().err.strip() == (
        "learnstream sql: --pseudonymize needs LEARNSTREAM_PSEUDONYM_KEY (--pseudonym-key): "
        "pseudonyms are keyed hashes")


def test_the_key_is_required_and_cannot_change_once_people_are_erased(tmp_path,
                                                                        monkeypatch):
    from consumer import control
    from consumer.ops import forget
    from consumer.store.suppression import KeyProblem, use_key

    monkeypatch.delenv("LEARNSTREAM_PSEUDONYM_KEY", raising=False)
    with pytest.raises(SystemExit) as refused:
        forget.main(["--data-dir", str(tmp_path), "teste@email.com"])
    assert refused.value.code == (
        "learnstream forget: LEARNSTREAM_PSEUDONYM_KEY (--pseudonym-key) is not set: erased "
        "people are remembered by keyed hashes, so set the consumer's key")
    store = Store(tmp_path / "learnstream.duckdb")
    store.write(decoded(NAMES), "t")
    use_key(store, KEY)
    counts = control.apply(store, "forget", {"people": [["email:teste@email.com"]]})
    assert counts["raw_events"] == 1 and counts["people"] == 1
    assert store.suppression is not None and len(store.suppression.hashes) == 2  # e-mail, id
    with pytest.raises(KeyProblem, match="not set: set the key they were made with"):
        use_key(store, "")
    with pytest.raises(KeyProblem, match="made with another LEARNSTREAM_PSEUDONYM_KEY"):
        use_key(store, KEY + "-changed")
    store.close()
