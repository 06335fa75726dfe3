"""The receiver against the real broker: what it publishes, who may publish, every rejection."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import datetime

import aiohttp
from aiokafka.partitioner import DefaultPartitioner, murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.ops.broker import EmbeddedBroker, free_port
from consumer.worker import ensure_topic
from ingest import message
from ingest.publisher import KeyPartitioner
from ingest.publisher import murmur2 as quick
from ingest.settings import IngestSettings
from ingest.signature import eduzz_keys, eduzz_signature, eduzz_signed
from tests.conftest import (
    SECRET,
    TOKEN,
    fixture,
    post,
    read_topic,
    serving,
    settings_for,
    signed,
    wait_ready,
)


async def test_body_is_published_unchanged_with_headers_and_learner_key(receiver, broker, topic):
    body = fixture("alpaclass/student_lesson_unfinished")
    async with aiohttp.ClientSession() as http:
        status, _ = await post(http, receiver, "eduzz", body, **{
            "x-delivery-attempt": "2", "x-subscription": "lk354pk:alpaclass.x"})
        assert status == 200
    (record,) = await read_topic(broker.bootstrap, topic, 1)
    assert record.value == body
    # The learner's identity, as a digest: no e-mail in what Kafka tools show operators.
    assert record.key == message.learner_digest("fulano.s@gmail.com")
    assert b"@" not in record.key and len(record.key) == 32
    headers = dict(record.headers)
    assert headers["source"] == b"eduzz"
    assert headers["x-delivery-attempt"] == b"2"
    assert headers["x-subscription"] == b"lk354pk:alpaclass.x"
    assert "x-signature" not in headers
    received = headers["received_at"].decode()
    assert received.endswith("Z")
    assert abs(datetime.fromisoformat(received).timestamp() - time.time()) < 60


async def test_toolzz_key_is_the_user_email_and_unknown_events_are_accepted(receiver, broker,
                                                                           topic):
    async with aiohttp.ClientSession() as http:
        toolzz = fixture("toolzz/activities_course_completed")
        assert (await post(http, receiver, "toolzz", toolzz))[0] == 200
        unknown = b'{"event": "brand.new_event", "data": {"student": {"id": 42}}}'
        assert (await post(http, receiver, "eduzz", unknown))[0] == 200  # the consumer judges
    records = await read_topic(broker.bootstrap, topic, 2)
    assert sorted(r.key for r in records) == sorted(
        [message.learner_digest("brand:42"), message.learner_digest("student@toolzz.com")])


async def test_forged_missing_and_retired_signatures_get_401_and_nothing_is_published(
        broker, topic):
    """Rotation: the old and the new secret are both configured, then the old one retired."""
    body = fixture("nutror/module_completed")
    path, good = signed("eduzz", body)
    rotating = settings_for(broker, topic, eduzz_secrets=f"old-secret, {SECRET}")
    async with serving(rotating) as url, aiohttp.ClientSession() as http:
        for headers in ({"x-signature": signed("eduzz", body, secret="old-secret")[1][
                            "x-signature"]}, good):
            async with http.post(url + path, data=body, headers={**good, **headers}) as resp:
                assert resp.status == 200  # both secrets valid while rotating
    retired = settings_for(broker, topic)  # old-secret dropped
    async with serving(retired) as url, aiohttp.ClientSession() as http:
        forged = dict(good, **{"x-signature": "0" * 64})
        missing = {k: v for k, v in good.items() if k != "x-signature"}
        old = dict(good, **{"x-signature": signed("eduzz", body, secret="old-secret")[1][
            "x-signature"]})
        tampered_body = body.replace(b"learner@eduzz.com", b"someone@else.com")
        for data, headers in ((body, forged), (body, missing), (body, old),
                              (tampered_body, good)):
            async with http.post(url + path, data=data, headers=headers) as resp:
                assert resp.status == 401
                assert await resp.text() == "missing or wrong x-signature\n"
        async with http.get(url + "/stats") as resp:
            stats = await resp.json()
        assert stats["rejected"] == [{"source": "eduzz", "status": 401, "count": 4,
                                      "latest_reason": "missing or wrong x-signature"}]
        # the new secret after rotation: accepted
        assert (await post(http, url, "eduzz", body))[0] == 200
    assert len(await read_topic(broker.bootstrap, topic, 3, wait=3)) == 2 + 1


def test_a_signature_matches_under_any_configured_secret_in_any_case_and_nothing_else():
    """The check copies OpenSSL's keyed state per request: each secret's state is keyed once
    and must not carry one body's bytes into the next."""
    keys = eduzz_keys("old-secret, new-secret")
    bodies = [b'{"id": 1}', b'{"id": 2}', b""]
    for body in bodies * 2:  # twice: a copied state must start clean every time
        for secret in ("old-secret", "new-secret"):
            sig = eduzz_signature(secret, body)
            assert eduzz_signed(body, sig, keys)
            assert eduzz_signed(body, f" {sig.upper()}\t", keys)
            assert not eduzz_signed(body + b" ", sig, keys)
            assert not eduzz_signed(body, "\xe9" + sig[1:], keys)  # non-ASCII: refused, no error
        assert not eduzz_signed(body, eduzz_signature("other", body), keys)
        assert not eduzz_signed(body, None, keys) and not eduzz_signed(body, "", keys)


async def test_toolzz_needs_the_url_token(receiver, broker, topic):
    body = fixture("toolzz/activities_course_completed")
    async with aiohttp.ClientSession() as http:
        for path in ("/webhooks/toolzz", "/webhooks/toolzz/wrong", f"/webhooks/toolzz/{TOKEN}x"):
            async with http.post(receiver + path, data=body,
                                 headers={"content-type": "application/json"}) as resp:
                assert resp.status == 401
                assert await resp.text() == "missing or wrong token in the webhook URL\n"
    assert await read_topic(broker.bootstrap, topic, 1, wait=2) == []


async def test_eduzz_ping_gets_200_signed_or_not_and_is_not_published(receiver, broker, topic):
    ping = b'{"id": "p1", "event": "ping", "data": {}}'
    async with aiohttp.ClientSession() as http:
        assert await post(http, receiver, "eduzz", ping) == (200, "pong\n")
        async with http.post(receiver + "/webhooks/eduzz", data=ping,
                             headers={"content-type": "application/json"}) as resp:
            assert (resp.status, await resp.text()) == (200, "pong\n")
    assert await read_topic(broker.bootstrap, topic, 1, wait=2) == []


async def test_bad_bodies_get_a_one_line_reason(receiver):
    async with aiohttp.ClientSession() as http:
        for body, status, expected in ((b"{not json", 400, "body is not valid JSON"),
                                       (b"[1, 2]", 400, "body must be a JSON object, got list"),
                                       (b"", 400, "empty body"),
                                       (b"[" * 5000 + b"]" * 5000, 400, "body is nested")):
            got, text = await post(http, receiver, "eduzz", body)
            assert got == status, text
            assert text.startswith(expected) and text.count("\n") == 1
        got, text = await post(http, receiver, "eduzz", b"{}", **{"content-type": "text/plain"})
        assert (got, text) == (415, "Content-Type must be application/json, got text/plain\n")
        async with http.post(receiver + "/webhooks/other", data=b"{}") as resp:
            assert resp.status == 404


async def test_unsigned_bad_json_gets_401_not_a_parse_error(receiver):
    async with aiohttp.ClientSession() as http:
        async with http.post(receiver + "/webhooks/eduzz", data=b"{not json",
                             headers={"content-type": "application/json"}) as resp:
            assert resp.status == 401


async def test_oversized_body_gets_413(broker, topic):
    async with serving(settings_for(broker, topic, max_body_bytes=1000)) as url, \
            aiohttp.ClientSession() as http:
        big = b'{"pad": "' + b"x" * 2000 + b'"}'
        status, text = await post(http, url, "eduzz", big)
        assert status == 413 and "exceeds the 1000 byte limit" in text

        async def chunks():  # no Content-Length: the limit is enforced while reading
            yield big

        path, headers = signed("eduzz", big)
        async with http.post(url + path, data=chunks(), headers=headers) as resp:
            assert resp.status == 413


async def test_slow_body_gets_408_and_slow_headers_are_cut(broker, topic):
    settings = settings_for(broker, topic, body_timeout=0.5, header_timeout=1.0)
    async with serving(settings):
        reader, writer = await asyncio.open_connection("127.0.0.1", settings.port)
        writer.write(b"POST /webhooks/eduzz HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nx-signature: 00\r\nContent-Length: 100\r\n\r\n{")
        await writer.drain()
        head = await asyncio.wait_for(reader.readline(), 5)
        assert head.startswith(b"HTTP/1.1 408")
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", settings.port)
        writer.write(b"POST /webhooks/eduzz HTTP/1.1\r\nHost: x\r\n")  # never finishes
        await writer.drain()
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server
        assert time.monotonic() - started < 5
        writer.close()


async def test_requests_beyond_the_in_flight_bound_get_503(broker, topic):
    settings = settings_for(broker, topic, max_in_flight=2, body_timeout=5.0)
    async with serving(settings) as url, aiohttp.ClientSession() as http:
        stalled = []
        for _ in range(2):  # two requests that hold their slot: headers sent, body pending
            _, writer = await asyncio.open_connection("127.0.0.1", settings.port)
            writer.write(b"POST /webhooks/eduzz HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/json\r\nContent-Length: 10\r\n\r\n")
            await writer.drain()
            stalled.append(writer)
        await asyncio.sleep(0.2)
        status, text = await post(http, url, "eduzz", fixture("nutror/module_completed"))
        assert (status, text) == (503, "too many requests in flight, retry later\n")
        for writer in stalled:
            writer.close()
        await asyncio.sleep(0.2)
        assert (await post(http, url, "eduzz", fixture("nutror/module_completed")))[0] == 200


async def test_broker_down_gives_503_with_retry_after_then_recovers(topic):
    own = EmbeddedBroker().start()  # a broker of its own: this test stops it
    settings = IngestSettings(port=free_port(), bootstrap=own.bootstrap, topic=topic,
                              publish_timeout=1.0, eduzz_secrets=SECRET, toolzz_token=TOKEN)
    await ensure_topic(own.bootstrap, topic, 1)
    body = fixture("nutror/module_completed")
    try:
        async with serving(settings) as url, aiohttp.ClientSession() as http:
            assert (await post(http, url, "eduzz", body))[0] == 200
            own.stop()
            started = time.monotonic()
            path, headers = signed("eduzz", body)
            async with http.post(url + path, data=body, headers=headers) as resp:
                elapsed = time.monotonic() - started
                assert resp.status == 503
                assert resp.headers["Retry-After"] == "1"
                assert (await resp.text()).startswith("event not stored, retry later")
            assert elapsed < settings.publish_timeout + 1.0
            await asyncio.sleep(1.5)  # the probe notices the outage without traffic
            async with http.get(url + "/readyz") as resp:
                assert resp.status == 503
            async with http.get(url + "/healthz") as resp:
                assert resp.status == 200
            own.start()  # same port; the embedded broker starts empty
            await ensure_topic(own.bootstrap, topic, 1)
            await wait_ready(url)  # readiness recovers with no traffic at all
            assert (await post(http, url, "eduzz", body))[0] == 200
    finally:
        own.stop()


async def test_receiver_started_before_the_broker_answers_503_until_connected(topic):
    port = free_port()
    settings = IngestSettings(port=free_port(), bootstrap=f"127.0.0.1:{port}", topic=topic,
                              publish_timeout=1.0, eduzz_secrets=SECRET, toolzz_token=TOKEN)
    late = EmbeddedBroker(port)
    try:
        async with serving(settings, ready=False) as url, aiohttp.ClientSession() as http:
            async with http.get(url + "/readyz") as resp:
                assert resp.status == 503
            assert (await post(http, url, "eduzz", b"{}"))[0] == 503
            late.start()
            await ensure_topic(late.bootstrap, topic, 1)
            await wait_ready(url)
            assert (await post(http, url, "eduzz", b"{}"))[0] == 200
    finally:
        late.stop()


def test_the_partitioner_puts_every_key_where_aiokafka_s_default_does():
    """The receiver's partitioner (a quicker murmur2, recent hashes remembered) must send a
    key to the same partition as aiokafka's DefaultPartitioner, or a learner's events would
    change partition (and lose their order) across versions; a cache of 8 keys is refilled
    many times here, so its clearing is exercised too."""
    rng = random.Random(16)
    keys = [rng.randbytes(n) for n in range(70) for _ in range(20)]
    keys += [message.learner_digest(f"learner{i}@example.com") for i in range(200)]
    assert [quick(k) for k in keys] == [murmur2(k) for k in keys]
    ours, theirs = KeyPartitioner(size=8), DefaultPartitioner()
    for key in keys + keys[::-1]:
        partitions = list(range(1 + len(key) % 12))
        assert ours(key, partitions, partitions) == theirs(key, partitions, partitions)
    assert ours(None, [0, 1, 2], [1]) == 1  # no key: an available partition


def _repeats_a_key(text: str) -> bool:
    """The oracle: the stdlib parser shows each object's pairs before they become a dict."""
    found = []

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        keys = [k for k, _ in items]
        found.append(len(set(keys)) != len(keys))
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return any(found)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(
    ["", ":", "a:b", "2024-06-12T12:00:10Z", "\\", '"', "\u00e9:", "\\u003a"]), st.text(max_size=5))
_keys = st.sampled_from(["id", "a", ":", "x:y", "\u00e9", "event"])
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.lists(
    st.tuples(_keys, inner), max_size=4).map(lambda p: ("obj", p)), max_leaves=12)


def _render(value: object, rng: random.Random) -> str:
    """JSON text with the pairs as given (a key may repeat), spacing and escapes varied."""
    if isinstance(value, tuple):
        return "{" + ",".join(f"{_string(k, rng)}{rng.choice(['', ' '])}:{_render(v, rng)}"
                              for k, v in value[1]) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v, rng) for v in value) + "]"
    if isinstance(value, str):
        return _string(value, rng)
    return json.dumps(value)


def _string(value: str, rng: random.Random) -> str:
    text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
    return text.replace(":", "\\u003a") if rng.random() < 0.2 else text  # an escaped colon


@given(_values, st.integers(0, 2**32))
@settings(max_examples=3000, deadline=None)
def test_a_repeated_key_is_found_in_any_object_with_any_strings(value, seed):
    """The receiver counts colons to find a key given twice in one object, without the
    stdlib parser; it must agree with that parser on every body: repeated keys at any depth,
    colons and escaped colons (`\\u003a`) in keys and values, any spacing."""
    body = _render(("obj", value[1]) if isinstance(value, tuple) else ("obj", [("v", value)]),
                   random.Random(seed)).encode()
    try:
        message.inspect_body("eduzz", body)
        refused = False
    except message.NotJson as exc:
        assert "twice in one object" in str(exc), exc
        refused = True
    assert refused == _repeats_a_key(body.decode())
