"""The baseline servers: bare aiohttp that reads the body and answers 200, nothing else; and,
with `--bootstrap`, the same handler awaiting the receiver's own Kafka send (its Publisher,
with the receiver's default producer settings and acks=all) before answering.

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


async def _ok_after_kafka(request: web.Request) -> web.Response:
    body = await request.read()
    # Keyed per body, so records spread over the partitions as the receiver's per-learner
    # keys do (one key would put every record in one partition's batches).
    await request.app[PUBLISHER].publish(body[-16:], body, [])
    return web.Response(text="ok\n")


async def _ready(request: web.Request) -> web.Response:
    publisher = request.app.get(PUBLISHER)
    if publisher is not None and not publisher.ready:
        return web.Response(status=503, text="not ready\n")
    return web.Response(text="ready\n")


def app(bootstrap: str | None, topic: str) -> web.Application:
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
        application.router.add_post("/webhooks/{tail:.*}", _ok_after_kafka)
    application.router.add_get("/readyz", _ready)
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bootstrap", help="await a Kafka send to this broker per request")
    parser.add_argument("--topic", default="bench-bare")
    args = parser.parse_args()
    web.run_app(app(args.bootstrap, args.topic), host="127.0.0.1", port=args.port,
                access_log=None, print=None)


if __name__ == "__main__":
    main()
