"""The aiohttp application factory: routes, limits, and one cleanup context per resource."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypedDict

from aiohttp import web

from ingest import handlers
from ingest.counters import Counts
from ingest.keys import COUNTS, IN_FLIGHT, PUBLISHER, SETTINGS
from ingest.publisher import Publisher
from ingest.settings import IngestSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _publisher_ctx(app: web.Application) -> AsyncIterator[None]:
    publisher = Publisher(app[SETTINGS])
    app[PUBLISHER] = publisher
    await publisher.start()
    yield
    await publisher.stop()


@web.middleware
async def _bounded(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Beyond `max_in_flight` webhooks at once, answer 503 before reading any body, so
    memory stays bounded (at most max_in_flight x max_body_bytes of bodies)."""
    if not request.path.startswith("/webhooks/"):
        return await handler(request)
    cell = request.app[IN_FLIGHT]
    if cell[0] >= request.app[SETTINGS].max_in_flight:
        request.app[COUNTS].rejected(request.match_info.get("source", "?"), 503,
                                     "too many requests in flight")
        return web.Response(status=503, text="too many requests in flight, retry later\n",
                            headers={"Retry-After": "1"})
    cell[0] += 1
    try:
        return await handler(request)
    finally:
        cell[0] -= 1


class ServerArgs(TypedDict):
    keepalive_timeout: float


def server_args(settings: IngestSettings) -> ServerArgs:
    """aiohttp server arguments. Its keep-alive timer runs from the moment a connection
    opens, so it also bounds how long a client may take to send its headers."""
    return ServerArgs(keepalive_timeout=settings.header_timeout)


def create_app(settings: IngestSettings) -> web.Application:
    """A receiver for `settings`; the producer starts and stops with the app."""
    # aiohttp enforces the limit while reading, so an oversized body is never buffered whole.
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[_bounded])
    app[SETTINGS] = settings
    app[COUNTS] = Counts()
    app[IN_FLIGHT] = [0]
    app.cleanup_ctx.append(_publisher_ctx)
    app.router.add_post("/webhooks/{source:eduzz}", handlers.webhook)
    app.router.add_post("/webhooks/{source:toolzz}", handlers.webhook)
    app.router.add_post("/webhooks/{source:toolzz}/{token}", handlers.webhook)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/readyz", handlers.readyz)
    app.router.add_get("/stats", handlers.stats)
    return app
