"""Property-based fuzzing (issue 4, "Fault tests" item 5) of the receiver, the decoder and
the whole pipeline: no 5xx other than broker unavailability, no crash, and every accepted
body ends as a row, an unknown event or a dead letter.

The oracles below (what is a JSON object, who signed, what the event_uid is) are written
out independently of the product code. Each test prints its figures on one line
(`pytest -s`); the asserts carry the check.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import select
import signal
import subprocess
import sys
import time
import urllib.request
import warnings
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer.ops.broker import free_port
from consumer.settings import ConsumerSettings
from consumer.sources.decoder import EDUZZ_TYPES, TOOLZZ_TYPES, Decoder, Message
from consumer.store import read
from consumer.worker import ensure_topic
from tests.conftest import FIXTURES, SECRET, TOKEN, logged_process, serving
from tests.test_receiver import settings_for

with warnings.catch_warnings():
    # On a failing example Hypothesis's pytest plugin imports libcst (to suggest a patch),
    # whose use of the deprecated mypy_extensions.TypedDict warns; under the suite's
    # `filterwarnings = error` that turns the failure report into an INTERNALERROR. Import
    # it once, quietly, so a failure is reported as one.
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):
        import hypothesis.extra._patching  # noqa: F401

LIMIT = 64 * 1024  # max_body_bytes of the fuzzed receivers
ALLOWED = {200, 400, 401, 408, 413, 415}  # 503 only when the broker is unavailable
NAMES = sorted(f"{p.parent.name}/{p.stem}" for p in FIXTURES.glob("*/*.json"))
FIXTURE_BODIES = {n: (FIXTURES / f"{n}.json").read_bytes() for n in NAMES}
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "text/json",
              "application/vnd.eduzz+json", "Application/JSON"]
OTHER_TYPES = ["text/plain", "application/x-www-form-urlencoded", "application/xml",
               "multipart/form-data; boundary=x", "application/octet-stream", "json"]
SIGNATURES = ["valid", "valid-upper", "valid-padded", "other-secret", "garbage", "missing",
              "empty"]
VALID_SIGNATURES = {"valid", "valid-upper", "valid-padded"}
TOKENS = ["valid", "wrong", "missing", "prefix"]
BASE_SETTINGS = settings(deadline=None, database=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow,
                                                HealthCheck.data_too_large])


# --- oracles -------------------------------------------------------------------------------


class Undecidable(Exception):
    """Too deep for Python's json to say; the receiver's limit may sit on either side."""


def _constant(text: str) -> object:
    raise ValueError(f"{text} is not JSON")


def _integer(text: str) -> int | Decimal:
    return int(text) if len(text) < 4000 else Decimal(text)


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object per RFC 8259 (UTF-8, no NaN, no lone surrogates), else
    None; raises Undecidable for nesting near the parsers' recursion limits. A number out of
    a double's range (1e400) is valid JSON grammar, so it is allowed."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_constant, parse_int=_integer)
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")  # lone surrogates
    except RecursionError:
        raise Undecidable from None
    except (ValueError, UnicodeError):
        return None
    if depth(value) > 500:
        raise Undecidable
    return value if isinstance(value, dict) else None


def accepted_object(body: bytes) -> dict[str, Any] | None:
    """`json_object`, or for nesting too deep for Python's json, what msgspec (the parser
    the receiver accepted it with) reads."""
    try:
        return json_object(body)
    except Undecidable:
        value = msgspec.json.decode(body)
        return value if isinstance(value, dict) else None


def depth(value: object) -> int:
    """Nesting depth of a decoded JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        children = node.values() if isinstance(node, dict) else node if isinstance(
            node, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def is_json_type(content_type: str | None) -> bool:
    if content_type is None:
        return False
    mime = content_type.split(";")[0].strip().lower()
    return mime in ("application/json", "text/json") or mime.endswith("+json")


def uid_of(source: str, body: bytes, obj: dict[str, Any]) -> str:
    """The data model's event_uid: `eduzz:<id>` for an Eduzz body with an id, else
    `<source>:sha256:<hex of the body>`."""
    event_id = obj.get("id") if source == "eduzz" else None
    if isinstance(event_id, str | int) and not isinstance(event_id, bool) and str(event_id):
        return f"eduzz:{event_id}"
    return f"{source}:sha256:{hashlib.sha256(body).hexdigest()}"


def is_ping(source: str, obj: dict[str, Any] | None) -> bool:
    """The Eduzz activation check: a body whose `event` is `ping`."""
    return source == "eduzz" and obj is not None and obj.get("event") == "ping"


def dropped_as_ping(source: str, obj: dict[str, Any] | None) -> bool:
    """What the consumer drops as a ping: also an Eduzz body whose `event` is an object with
    slug `ping` (not a ping by the contract: test_decoder_drops_only_the_eduzz_ping)."""
    event = obj.get("event") if obj is not None else None
    return is_ping(source, obj) or (source == "eduzz" and isinstance(event, dict)
                                    and event.get("slug") == "ping")


# --- strategies ----------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.text(max_size=20)
           | st.floats(allow_nan=False, allow_infinity=False))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
ids = st.text(max_size=12) | st.integers() | st.floats() | st.booleans() | st.none()
emails = st.sampled_from(["a@b.com", " Upper@Example.COM ", "", "not-an-email"]) | json_values
person = st.fixed_dictionaries({}, optional={"id": ids, "email": emails, "name": json_values})
thing = st.fixed_dictionaries({}, optional={"id": ids, "name": json_values,
                                            "title": json_values})
event_names = (st.sampled_from(sorted(EDUZZ_TYPES | TOOLZZ_TYPES | {"ping", "brand.new"}))
               | st.text(max_size=20))
toolzz_event = st.fixed_dictionaries({"slug": event_names},
                                     optional={"name": json_values, "send_at": json_values})
dates = st.sampled_from(["2024-06-12T12:00:10.000Z", "2023-07-03 12:53:41", "2024-06-12",
                         "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00", "yesterday", ""])
data = st.fixed_dictionaries({}, optional={
    k: person | json_values for k in ("student", "learner", "user", "buyer", "customer",
                                      "participant")} | {
    k: thing | json_values for k in ("course", "lesson", "module", "team", "school")} | {
    "sentDate": dates | json_values})
envelopes = st.fixed_dictionaries({}, optional={
    "id": ids, "event": event_names | toolzz_event | json_values, "sentDate": dates | json_values,
    "data": data | json_values})


def dumps(value: object, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode()


def leaves(node: object, path: tuple = ()) -> Iterator[tuple]:
    """Paths of every value in a decoded fixture."""
    if path:
        yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, (*path, i))


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> bytes:
    """A published example with one value replaced by anything, or removed."""
    body = json.loads(FIXTURE_BODIES[draw(st.sampled_from(NAMES))])
    path = draw(st.sampled_from(list(leaves(body))))
    node = body
    for step in path[:-1]:
        node = node[step]
    if isinstance(node, dict) and draw(st.booleans()):
        del node[path[-1]]
    else:
        node[path[-1]] = draw(json_values)
    return dumps(body, draw(st.booleans()))


def nested(n: int, kind: str) -> bytes:
    return (b'{"a":' * n + b"1" + b"}" * n) if kind == "object" else (b"[" * n + b"]" * n)


@st.composite
def corrupted(draw: st.DrawFn) -> bytes:
    """A JSON object whose bytes are broken inside one string value: bytes that are not
    UTF-8 (RFC 8259 requires it), where the receiver may or may not read."""
    body = draw(st.sampled_from(list(FIXTURE_BODIES.values())) | mutated_fixtures())
    starts = [i + 3 for i in range(len(body)) if body[i:i + 3] == b': "'] or [len(body)]
    at = draw(st.sampled_from(starts))
    bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf8\x88"]))
    return body[:at] + bad + body[at:]


objects = st.one_of(
    st.sampled_from(list(FIXTURE_BODIES.values())),
    mutated_fixtures(),
    st.builds(dumps, envelopes, st.booleans()),
    st.builds(dumps, st.dictionaries(st.text(max_size=8), json_values, max_size=5),
              st.booleans()),
    st.builds(lambda d, i: dumps({"id": i, "event": "ping", "data": d}, True), json_values, ids),
)
garbage = st.one_of(
    st.binary(max_size=300),
    st.builds(dumps, json_values, st.booleans()),
    st.text(max_size=200).map(str.encode),
    st.builds(nested, st.integers(1, 3000), st.sampled_from(["object", "list"])),
    st.integers(LIMIT - 64, LIMIT + 4000).map(lambda n: b'{"pad": "' + b"x" * n + b'"}'),
    st.sampled_from([b"", b"{", b"{}{}", b'{"a": NaN}', b'{"a": 1e400}', b'{"a": "\\ud800"}',
                     b'\xef\xbb\xbf{"a": 1}', b'{"a": "\xff"}', b"null", b"[]", b'"{}"']),
    mutated_fixtures().map(lambda b: b[: len(b) // 2]),
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


class Delivery(NamedTuple):
    source: str
    credential: str  # signature kind (eduzz) or token kind (toolzz)
    content_type: str | None
    body: bytes
    extra: dict[str, str]

    def authentic(self) -> bool:
        return self.credential in VALID_SIGNATURES if self.source == "eduzz" else (
            self.credential == "valid")

    def request(self) -> tuple[str, dict[str, str]]:
        """(path, headers) as sent."""
        headers = dict(self.extra)
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        if self.source == "toolzz":
            token = {"valid": f"/{TOKEN}", "wrong": "/nope", "missing": "",
                     "prefix": f"/{TOKEN[:-1]}"}[self.credential]
            return f"/webhooks/toolzz{token}", headers
        good = hmac.new(SECRET.encode(), self.body, hashlib.sha256).hexdigest()
        other = hmac.new(b"retired-secret", self.body, hashlib.sha256).hexdigest()
        signature = {"valid": good, "valid-upper": good.upper(), "valid-padded": f" {good} ",
                     "other-secret": other, "garbage": "zz" + good[2:], "missing": None,
                     "empty": ""}[self.credential]
        if signature is not None:
            headers["x-signature"] = signature
        return "/webhooks/eduzz", headers


def deliveries(bodies: st.SearchStrategy[bytes], signatures: list[str],
               tokens: list[str], types: st.SearchStrategy[str | None]) -> st.SearchStrategy:
    extra = st.dictionaries(st.sampled_from(["x-delivery-attempt", "x-subscription",
                                             "x-request-id"]), header_text, max_size=2)
    return st.one_of(
        st.builds(Delivery, st.just("eduzz"), st.sampled_from(signatures), types, bodies, extra),
        st.builds(Delivery, st.just("toolzz"), st.sampled_from(tokens), types, bodies, extra))


# Weighted so that every answer is common: mostly JSON and signed, the rest anything.
any_type = st.integers(0, 9).flatmap(lambda i: header_text if i == 0 else st.sampled_from(
    [*JSON_TYPES, *JSON_TYPES, *OTHER_TYPES, None]))
fuzzed = deliveries(objects | garbage | corrupted(), ["valid"] * 4 + SIGNATURES,
                    ["valid"] * 4 + TOKENS, any_type)


# --- a. the receiver -----------------------------------------------------------------------


def expected_status(d: Delivery) -> int | None:
    """What the receiver must answer, when the contract decides it (None: not asserted)."""
    if d.source == "toolzz" and not d.authentic():
        return 401
    if len(d.body) > LIMIT:
        return 413
    try:
        obj = json_object(d.body)
    except Undecidable:
        return None
    if is_ping(d.source, obj):
        return None  # 200 pong for an Eduzz ping (of the envelope the receiver reads)
    if not d.authentic():
        return 401  # origin before shape: a stranger learns nothing of what we parse
    if d.content_type not in JSON_TYPES:
        return 415 if d.content_type in (*OTHER_TYPES, None) else None
    return 200 if obj is not None else 400


@pytest.fixture
async def fuzz_receiver(broker, topic):
    await ensure_topic(broker.bootstrap, topic, 3)
    async with serving(settings_for(broker, topic, max_body_bytes=LIMIT)) as url, \
            aiohttp.ClientSession() as session:
        yield url, session


@pytest.fixture
def receiver_tally(request):
    tally: Counter[str] = Counter()
    failed = request.session.testsfailed
    yield tally
    statuses = {k: v for k, v in sorted(tally.items()) if k.isdigit()}
    print(f"\nfuzz-receiver: examples={tally['examples']} statuses={statuses} "
          f"asserted_exactly={tally['exact']} pong={tally['pong']} "
          f"signed_objects_accepted={tally['accepted']} "
          f"pings_not_ponged={tally['ping-not-ponged']}")
    if request.session.testsfailed == failed:  # a failure stops the examples early
        assert {"200", "400", "401", "413", "415"} <= set(statuses), "fuzzing missed a status"


@settings(BASE_SETTINGS, max_examples=300)
@given(d=fuzzed)
async def test_receiver_never_fails_and_accepts_only_signed_json_objects(
        fuzz_receiver, receiver_tally, d):
    url, session = fuzz_receiver
    path, headers = d.request()
    async with session.post(url + path, data=d.body, headers=headers,
                            skip_auto_headers=["Content-Type"]) as resp:
        status, text = resp.status, await resp.text()
    receiver_tally["examples"] += 1
    receiver_tally[str(status)] += 1
    assert status in ALLOWED, (status, text)
    assert text.endswith("\n") and text.count("\n") == 1, text  # a one-line reason
    expected = expected_status(d)
    if expected is not None:
        receiver_tally["exact"] += 1
        assert status == expected, (status, text)
    if status == 200:
        try:
            obj = json_object(d.body)
        except Undecidable:  # nested near the limit: at least an object
            obj = {} if d.body.startswith(b"{") else None
        assert obj is not None
        if text == "pong\n":  # a ping is answered whatever it claims to be
            receiver_tally["pong"] += 1
            assert is_ping(d.source, obj)
        else:
            assert text == "ok\n" and d.authentic() and is_json_type(d.content_type)
            receiver_tally["accepted"] += 1
            if is_ping(d.source, obj):  # an Eduzz ping the receiver published (see report)
                receiver_tally["ping-not-ponged"] += 1


NOT_UTF8 = {"event": b'{"event": "\xff", "data": {}}',
            "student e-mail": b'{"event": "x", "data": {"student": {"email": "\xc3"}}}',
            "unread field": b'{"event": "x", "note": "\xed\xa0\x80"}'}


async def test_body_that_is_not_utf8_is_refused_without_a_5xx(fuzz_receiver):
    """Found by the fuzzing above: bytes that are not UTF-8 inside a JSON string. RFC 8259
    requires UTF-8, and the consumer dead-letters such a body as `invalid_json`, so the
    edge must refuse it (400 signed, 401 unsigned), never 500 and never acknowledge it."""
    url, session = fuzz_receiver
    got, wanted = {}, {}
    for where, body in NOT_UTF8.items():
        for source, credential, expected in (("eduzz", "valid", 400), ("eduzz", "missing", 401),
                                             ("toolzz", "valid", 400)):
            path, headers = Delivery(source, credential, "application/json", body,
                                     {}).request()
            async with session.post(url + path, data=body, headers=headers) as resp:
                got[f"{source}/{credential}/{where}"] = resp.status
            wanted[f"{source}/{credential}/{where}"] = expected
    print(f"\nnot-utf8: cases={len(got)} statuses={dict(Counter(got.values()))} "
          f"wrong={ {k: v for k, v in got.items() if v != wanted[k]} }")
    assert got == wanted


# --- b. the decoder ------------------------------------------------------------------------

DECODER = Decoder(ConsumerSettings().zones())
received_at = st.sampled_from([b"2024-07-01T12:00:00.000000Z", b"2024-07-01 12:00:00",
                               b"garbage", b"", b"\xff\xfe"])
subscriptions = st.builds(lambda c, e: f"{c}:{e}".encode(), st.text(max_size=8),
                          st.sampled_from(sorted(EDUZZ_TYPES | {"ping", "other"})))
source_header = st.one_of(
    st.sampled_from([[("source", b"eduzz")], [("source", b"toolzz")]]),
    st.lists(st.tuples(st.just("source"), st.binary(max_size=10)), max_size=2))
message_headers = st.builds(lambda first, rest: first + rest, source_header, st.lists(st.one_of(
    st.tuples(st.just("received_at"), received_at),
    st.tuples(st.just("x-subscription"), subscriptions | st.binary(max_size=20)),
    st.tuples(st.text(max_size=10), st.binary(max_size=10)),
), max_size=3)).flatmap(st.permutations)
# Kafka record timestamps: -1 (none), else epoch ms; here those a datetime can hold (years
# 1 to 9999). Beyond them, see test_decoder_survives_any_kafka_timestamp.
timestamps = st.just(-1) | st.integers(-62135596800000, 253402300799999)


@pytest.fixture
def decoder_tally():
    tally: Counter[str] = Counter()
    yield tally
    print("\nfuzz-decoder: " + " ".join(f"{k}={v}" for k, v in sorted(tally.items())))


@settings(BASE_SETTINGS, max_examples=2000)
@given(body=objects | garbage | corrupted(), headers=message_headers, partition=st.integers(0, 99),
       offset=st.integers(0, 2**62), timestamp_ms=timestamps)
def test_decoder_never_raises_and_every_message_has_one_outcome(
        decoder_tally, body, headers, partition, offset, timestamp_ms):
    msg = Message(body, headers, partition, offset, timestamp_ms)
    out = DECODER.decode(msg)  # must not raise
    sources = [v for k, v in headers if k == "source"]
    source = sources[-1].decode("utf-8", "replace") if sources else ""
    try:
        obj = json_object(body)
    except Undecidable:
        obj = None
    for row in (*out.learning, *out.commerce):
        assert out.raw is not None and row.event_uid == out.raw.event_uid
        assert (row.kafka_partition, row.kafka_offset) == (partition, offset)
    if out.dead is not None:
        outcome = "dead_letter"
        assert (out.dead.kafka_partition, out.dead.kafka_offset) == (partition, offset)
        assert out.dead.body == body and out.dead.error
        if out.raw is not None:  # a known event type with a bad shape: kept raw, not mapped
            assert not out.learning and not out.commerce
            assert out.raw.event_type in EDUZZ_TYPES | TOOLZZ_TYPES, out.raw.event_type
    elif out.raw is not None:
        outcome = "known_event" if out.learning or out.commerce else "unknown_event"
        assert (out.raw.kafka_partition, out.raw.kafka_offset) == (partition, offset)
        assert out.raw.body == body.decode("utf-8")
        assert out.raw.source == source
    else:
        outcome = "nothing"
        assert dropped_as_ping(source, obj), (source, body)  # only the Eduzz ping vanishes
    if source not in ("eduzz", "toolzz"):
        assert out.raw is None and out.dead is not None
        assert out.dead.error_kind == "unknown_source"
    elif obj is not None and not dropped_as_ping(source, obj):
        assert out.raw is not None or out.dead is not None
        wrapped = source == "eduzz" and "event" not in obj and any(
            k == "x-subscription" for k, _ in headers)
        if out.raw is not None and not wrapped:  # the envelope-less contracts aside
            assert out.raw.event_uid == uid_of(source, body, obj)
    decoder_tally["examples"] += 1
    decoder_tally[outcome] += 1


def test_decoder_survives_any_kafka_timestamp():
    """A record timestamp is any int64 a producer chose; with no usable `received_at`
    header the decoder falls back to it, and must still never raise."""
    failures = []
    for timestamp_ms in (-(2**63), -62135596800001, 253402300800000, 2**63 - 1):
        for headers in ([("source", b"eduzz")], [("source", b"eduzz"), ("received_at", b"?")],
                        []):
            try:
                DECODER.decode(Message(b'{"event": "x"}', headers, 0, 0, timestamp_ms))
            except Exception as exc:  # the decoder's contract: never raises
                failures.append((timestamp_ms, headers, f"{type(exc).__name__}: {exc}"))
    print(f"\nfuzz-timestamps: cases=12 raised={len(failures)}")
    assert not failures, failures


def test_decoder_drops_only_the_eduzz_ping():
    """The contract: a body whose `event` is `ping` is not an event; anything else signed
    and accepted is kept (as an unknown event at least)."""
    cases = {("eduzz", b'{"event": "ping"}'): False,
             ("eduzz", b'{"id": "p", "event": "ping", "data": 5}'): False,
             ("eduzz", b'{"event": {"slug": "ping"}}'): True,
             ("toolzz", b'{"event": {"slug": "ping"}}'): True,
             ("toolzz", b'{"event": "ping"}'): True}
    kept = {case: DECODER.decode(Message(case[1], [("source", case[0].encode())], 0, 0, 0)).raw
            is not None for case in cases}
    print(f"\nping-rule: cases={len(cases)} wrong={[c for c in cases if kept[c] != cases[c]]}")
    assert kept == cases


# --- c. end to end -------------------------------------------------------------------------

# Mostly what a platform sends (so most answers are 200), some of it broken.
e2e_bodies = st.one_of(st.sampled_from(list(FIXTURE_BODIES.values())), mutated_fixtures(),
                       mutated_fixtures(), st.builds(dumps, envelopes, st.booleans()),
                       st.builds(dumps, envelopes, st.booleans()), garbage)
e2e = deliveries(e2e_bodies, ["valid"] * 8 + SIGNATURES, ["valid"] * 8 + TOKENS,
                 st.sampled_from(["application/json"] * 16 + JSON_TYPES + OTHER_TYPES))


process = logged_process


def until(condition, timeout: float, what: str, proc: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"{what}: exited {proc.returncode}\n{log.read_text()}"
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s\n{log.read_text()}"
        time.sleep(0.05)


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def terminate(proc: subprocess.Popen[str], log: Path, timeout: float = 60) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"did not stop in {timeout}s\n{log.read_text()}") from None
    assert proc.returncode == 0, log.read_text()


@pytest.mark.slow
def test_every_accepted_body_ends_as_a_row_an_unknown_event_or_a_dead_letter(
        broker, topic, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    consumer_log, receiver_log = tmp_path / "consumer.log", tmp_path / "receiver.log"
    sent: list[tuple[Delivery, int, str]] = []
    with process([sys.executable, "-m", "consumer", "--bootstrap", broker.bootstrap,
                  "--topic", topic, "--group", f"g-{topic}", "--data-dir", str(tmp_path),
                  "--poll-timeout-ms", "100", "--session-timeout-ms", "2000",
                  "--drain-timeout", "30"], consumer_log) as consumer:
        assert consumer.stdout is not None
        readable, _, _ = select.select([consumer.stdout], [], [], 30)
        assert readable, f"consumer not ready in 30s\n{consumer_log.read_text()}"
        assert consumer.stdout.readline().startswith("consumer ready: "), consumer_log.read_text()
        with process([sys.executable, "-m", "ingest", "--host", "127.0.0.1", "--port",
                      str(port), "--bootstrap", broker.bootstrap, "--topic", topic,
                      "--max-body-bytes", str(LIMIT)], receiver_log,
                     env={"LEARNSTREAM_EDUZZ_SECRETS": SECRET,
                          "LEARNSTREAM_TOOLZZ_TOKEN": TOKEN}) as receiver:
            until(lambda: ready(url), 30, "receiver ready", receiver, receiver_log)

            @settings(BASE_SETTINGS, max_examples=50)
            @given(d=e2e)
            def deliver(d: Delivery) -> None:
                path, headers = d.request()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                try:
                    conn.request("POST", path, body=d.body, headers=headers)
                    resp = conn.getresponse()
                    status, text = resp.status, resp.read().decode()
                finally:
                    conn.close()
                sent.append((d, status, text))
                assert status in ALLOWED, (status, text)

            deliver()
            terminate(receiver, receiver_log)  # requests finished, producer flushed
        until(lambda: "assigned partitions [0, 1, 2]" in consumer_log.read_text(), 30,
              "consumer assigned", consumer, consumer_log)
        terminate(consumer, consumer_log)  # drains until caught up, then exits

    db = tmp_path / "learnstream.duckdb"
    accepted = [(d, accepted_object(d.body)) for d, status, text in sent
                if status == 200 and text == "ok\n"]
    # An Eduzz ping the receiver did not recognise is published, and the consumer drops it.
    pings = {d.body for d, o in accepted if dropped_as_ping(d.source, o)}
    # Bodies the receiver let through that are not JSON (not UTF-8): dead letters, no row.
    invalid = {d.body for d, o in accepted if o is None}
    expected = {uid_of(d.source, d.body, o) for d, o in accepted
                if o is not None and not dropped_as_ping(d.source, o)}
    raw = {uid for (uid,) in read(db, "select event_uid from raw_events")[1]}
    bare_bodies = {bytes(b) for (b,) in read(db, """
        select body from dead_letters d where not exists (select 1 from raw_events r
        where d.kafka_partition = r.kafka_partition and d.kafka_offset = r.kafka_offset)""")[1]}
    known, unknown, dead_with_raw, bare_dead = (read(db, sql)[1][0][0] for sql in (
        """select count(*) from raw_events r where exists (select 1 from learning_events l
           where l.event_uid = r.event_uid) or exists (select 1 from commerce_events c
           where c.event_uid = r.event_uid)""",
        "select coalesce(sum(events), 0) from unknown_events",
        """select count(*) from raw_events r join dead_letters d
           on d.kafka_partition = r.kafka_partition and d.kafka_offset = r.kafka_offset""",
        """select count(*) from dead_letters d where not exists (select 1 from raw_events r
           where d.kafka_partition = r.kafka_partition and d.kafka_offset = r.kafka_offset)"""))
    statuses = Counter(status for _, status, _ in sent)
    print(f"\nfuzz-end-to-end: posted={len(sent)} statuses={dict(sorted(statuses.items()))} "
          f"accepted={len(accepted)} distinct_uids={len(expected)} "
          f"published_pings={len(pings)} accepted_not_json={len(invalid)} "
          f"stored={len(raw)} known={known} unknown={unknown} "
          f"dead_letters={dead_with_raw + bare_dead} conflicting="
          f"{read(db, 'select count(*) from conflicting_deliveries')[1][0][0]}")

    assert statuses[200] > 0
    assert raw == expected  # every accepted JSON object is kept, once per event_uid
    assert bare_bodies == invalid  # and every accepted non-JSON body is a dead letter
    assert known + unknown + dead_with_raw == len(raw)  # each exactly one of the three
