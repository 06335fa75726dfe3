"""The receiver's edge against clients nobody here wrote: raw sockets, odd bytes, broken
HTTP, ambiguous JSON and stalled bodies (issue 15). Every answer is one line and counted;
nothing is a 500 or a traceback."""

from __future__ import annotations

import asyncio
import gzip
import logging
import os
import shutil
import subprocess

import aiohttp
import pytest

from consumer.worker import ensure_topic
from tests.conftest import fixture, post, read_topic, serving, settings_for, signed


async def raw_request(port: int, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send bytes as they are (no client library tidies them); (status, response body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def signed_head(body: bytes, *extra: bytes, length: int | None = None) -> bytes:
    """Request line and headers of a signed Eduzz delivery of `body`, plus `extra` lines."""
    path, headers = signed("eduzz", body)
    lines = [f"POST {path} HTTP/1.1".encode(), b"Host: x", b"Connection: close",
             *(f"{k}: {v}".encode() for k, v in headers.items()),
             f"Content-Length: {len(body) if length is None else length}".encode(), *extra]
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def stats(url: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(url + "/stats") as resp:
        return await resp.json()


def rejected(counts: dict, source: str, status: int) -> dict | None:
    return next((r for r in counts["rejected"] if (r["source"], r["status"]) == (source, status)),
                None)


async def test_non_utf8_delivery_headers_are_published_as_sent(receiver, broker, topic):
    body = fixture("alpaclass/student_lesson_unfinished")
    port = int(receiver.rsplit(":", 1)[1])
    head = signed_head(body, b"x-subscription: lk354pk:\xff\xfealpaclass",
                       b"x-delivery-attempt: 2\xc3")
    status, answer = await raw_request(port, head, body)
    assert (status, answer) == (200, b"ok\n")
    (record,) = await read_topic(broker.bootstrap, topic, 1)
    headers = dict(record.headers)
    assert headers["x-subscription"] == b"lk354pk:\xff\xfealpaclass"  # the bytes sent, kept
    assert headers["x-delivery-attempt"] == b"2\xc3"


async def test_corrupt_gzip_body_gets_400_with_one_line(receiver, caplog):
    port = int(receiver.rsplit(":", 1)[1])
    plain = fixture("nutror/module_completed")
    good = gzip.compress(plain)
    for corrupt in (b"not gzip at all", good[:10] + b"\xff" * 40, good[:-8] + b"\x00" * 8):
        head = signed_head(plain, b"Content-Encoding: gzip", length=len(corrupt))
        status, answer = await raw_request(port, head, corrupt)
        assert status == 400, answer
        assert answer.startswith(b"body could not be read: ") and answer.count(b"\n") == 1
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    counted = rejected(await stats(receiver), "eduzz", 400)
    assert counted is not None and counted["count"] == 3
    head = signed_head(plain, b"Content-Encoding: gzip", length=len(good))
    status, _ = await raw_request(port, head, good)
    assert status == 200  # a good gzip body still goes through (signed as decompressed)


MALFORMED = [
    b"POST /webhooks/eduzz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /webhooks/eduzz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n"
    b"\r\n{}",
    b"POST /webhooks/eduzz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /webhooks/eduzz HTTP/1.1\r\nHost: x\r\nBad\x01Name: y\r\nContent-Length: 2\r\n\r\n{}",
    b"POST /webhooks/toolzz HTTP/1.1\r\nHost: x\r\nX-A: b\x7f\x00\r\nContent-Length: 2\r\n\r\n{}",
]


async def test_malformed_http_is_counted_and_logged_in_one_summary_line(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    port = int(receiver.rsplit(":", 1)[1])
    rounds = 40
    for _ in range(rounds):
        for request in MALFORMED:
            status, _ = await raw_request(port, request)
            assert status == 400
    lines = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    # 200 malformed requests: one summary line (the next one is due only after 10 s).
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "malformed HTTP request" in lines[0].getMessage()
    counted = rejected(await stats(receiver), "?", 400)
    assert counted is not None and counted["count"] == rounds * len(MALFORMED)
    assert counted["latest_reason"].startswith("malformed HTTP request: ")
    assert "\n" not in counted["latest_reason"]


async def test_a_key_twice_in_one_object_gets_400_and_is_not_published(receiver, broker, topic):
    """msgspec keeps the last `id`, DuckDB's `->>` the first: the event_uid and the stored
    body would disagree, so the receiver refuses the ambiguity."""
    twice = (b'{"id": "a1", "event": "nutror.module_completed", "id": "b2", '
             b'"data": {"learner": {"email": "x@y.z"}}}')
    nested = b'{"id": "a1", "event": "x.y", "data": {"student": {"id": 1, "id": 2}}}'
    async with aiohttp.ClientSession() as http:
        for body, key in ((twice, "'id'"), (nested, "'id'")):
            status, text = await post(http, receiver, "eduzz", body)
            assert status == 400
            assert text == f"body has the key {key} twice in one object: ambiguous, send each " \
                           "key once\n"
        status, _ = await post(http, receiver, "eduzz", b'{"a": {"id": 1}, "b": {"id": 1}}')
        assert status == 200  # the same key in two objects is not ambiguous
    counted = rejected(await stats(receiver), "eduzz", 400)
    assert counted is not None and counted["count"] == 2
    (record,) = await read_topic(broker.bootstrap, topic, 2, wait=3)
    assert record.value == b'{"a": {"id": 1}, "b": {"id": 1}}'


async def test_unverified_bodies_beyond_the_byte_budget_get_503_unread(broker, topic, caplog):
    settings = settings_for(broker, topic, max_body_bytes=4000, max_unverified_bytes=10_000,
                            body_timeout=5.0)
    await ensure_topic(broker.bootstrap, topic, 1)
    body = fixture("nutror/module_completed")
    async with serving(settings) as url, aiohttp.ClientSession() as http:
        stalled = []
        for _ in range(2):  # 2 x 4000 declared bytes, unsigned, never finished
            _, writer = await asyncio.open_connection("127.0.0.1", settings.port)
            writer.write(b"POST /webhooks/eduzz HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/json\r\nContent-Length: 4000\r\n\r\n{\"pad\": \"")
            await writer.drain()
            stalled.append(writer)
        await asyncio.sleep(0.3)
        assert len(body) < 2000  # fits in what is left
        assert (await post(http, url, "eduzz", body))[0] == 200
        _, writer = await asyncio.open_connection("127.0.0.1", settings.port)
        rest = 10_000 - 8000 - len(body) + 1  # held with this one: one byte short for body
        writer.write(b"POST /webhooks/eduzz HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\n\r\n{" % rest)
        await writer.drain()
        stalled.append(writer)
        await asyncio.sleep(0.3)
        status, text = await post(http, url, "eduzz", body)
        assert (status, text) == (503, "unverified bodies over the 10000 byte budget, retry "
                                       "later\n")
        async def chunks():  # no Content-Length
            yield body

        async with http.post(url + "/webhooks/eduzz", data=chunks(),
                             headers=signed("eduzz", body)[1]) as resp:
            assert resp.status == 503  # undeclared length: it may take the whole body limit
        for writer in stalled:
            writer.close()
        await asyncio.sleep(0.3)
        assert (await post(http, url, "eduzz", body))[0] == 200  # the budget came back
        counted = rejected(await stats(url), "eduzz", 503)
        assert counted is not None and counted["count"] == 2
        gone = rejected(await stats(url), "eduzz", 400)  # the stalled clients that hung up
        assert gone is not None and gone["count"] == 3
        assert gone["latest_reason"] == "connection closed before the body was complete"
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize("argv", [["--help"], ["events"], ["ingest", "--help"],
                                  ["sql", "--help"]])
def test_output_into_a_closed_pipe_ends_quietly(argv):
    """`learnstream --help | head`: the reader went away; exit like a Unix tool, no traceback."""
    exe = shutil.which("learnstream")
    assert exe is not None
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `head` does once it has its lines
    try:
        done = subprocess.run([exe, *argv], stdout=write_end, stderr=subprocess.PIPE,
                              timeout=60, env={**os.environ, "PYTHONPATH": os.getcwd()})
    finally:
        os.close(write_end)
    assert done.stderr == b"", done.stderr.decode()
    assert done.returncode in (0, 141), done.returncode  # 141: killed by SIGPIPE, as `cat`
