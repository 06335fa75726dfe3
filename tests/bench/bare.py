"""The baseline servers: bare aiohttp that reads the body and answers 200, nothing else; and,
with `--bootstrap`, the same handler awaiting the receiver's own Kafka send (its Publisher,
with the receiver's default producer settings and acks=all) before answering.

The record it sends has the receiver's shape, so the two Kafka sends cost alike: a 32-byte
key that is the same for one learner's bodies (the receiver's is a 32-digit digest of the
learner, so its partitioner hashes each new learner and remembers the rest), and the
receiver's two record headers (`source`, `received_at`, constant here: computing them is
the receiver's work). Until 2026-12-04 it keyed by the body's last 16 bytes, which the
bench's bodies share (44 distinct keys in 1,000 bodies): its partitioner never hashed, and
its records went to fewer partitions, so fewer batches per produce request.

    python -m tests.bench.bare --port P [--bootstrap HOST:PORT --topic T]
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

from aiohttp import web

from ingest.publisher import Publisher
from ingest.settings import IngestSettings

PUBLISHER = web.AppKey("publisher", Publisher)


async def _ok(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="ok\n")


# The receiver's record headers, with a fixed time of the same length.
HEADERS = [("source", b"eduzz"), ("received_at", b"2026-12-04T00:00:00.000000Z")]
DOMAIN = b"@example.com"  # every learner of the bench's bodies (tests/bench/bodies.py)


def learner_key(body: bytes) -> bytes:
    """32 bytes naming the body's learner: those before the first e-mail's domain (the
    e-mail and what precedes it), else the source, as the receiver keys a body without one."""
    at = body.find(DOMAIN)
    return body[at - 32:at] if at >= 32 else b"eduzz"


async def _ok_after_kafka(request: web.Request) -> web.Response:
    body = await request.read()
    await request.app[PUBLISHER].publish(learner_key(body), body, HEADERS)
    return web.Response(text="ok\n")


async def _ok_after_kafka_tail_keys(request: web.Request) -> web.Response:
    """The baseline before 2026-12-04 (`--tail-keys`): the body's last 16 bytes as key, no
    headers."""
    body = await request.read()
    await request.app[PUBLISHER].publish(body[-16:], body, [])
    return web.Response(text="ok\n")


async def _ready(request: web.Request) -> web.Response:
    publisher = request.app.get(PUBLISHER)
    if publisher is not None and not publisher.ready:
        return web.Response(status=503, text="not ready\n")
    return web.Response(text="ready\n")


def app(bootstrap: str | None, topic: str, tail_keys: bool = False) -> web.Application:
    """The bare app; with `bootstrap`, the one that awaits the Kafka ack."""
    application = web.Application()
    if bootstrap is None:
        application.router.add_post("/webhooks/{tail:.*}", _ok)
    else:
        settings = IngestSettings(bootstrap=bootstrap, topic=topic)

        async def producer(application: web.Application) -> AsyncIterator[None]:
            application[PUBLISHER] = Publisher(settings)
            await application[PUBLISHER].start()
            yield
            await application[PUBLISHER].stop()

        application.cleanup_ctx.append(producer)
        application.router.add_post("/webhooks/{tail:.*}",
                                    _ok_after_kafka_tail_keys if tail_keys else _ok_after_kafka)
    application.router.add_get("/readyz", _ready)
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bootstrap", help="await a Kafka send to this broker per request")
    parser.add_argument("--topic", default="bench-bare")
    parser.add_argument("--tail-keys", action="store_true",
                        help="the old baseline: keyed by the body's last 16 bytes, no headers")
    args = parser.parse_args()
    web.run_app(app(args.bootstrap, args.topic, args.tail_keys), host="127.0.0.1", port=args.port,
                access_log=None, print=None)


if __name__ == "__main__":
    main()
