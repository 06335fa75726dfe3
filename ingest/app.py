"""The aiohttp application: routes, limits, one cleanup context per resource, and `serve`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypedDict

from aiohttp import web

from ingest import handlers
from ingest.counters import Counts
from ingest.keys import COUNTS, IN_FLIGHT, METRICS, PUBLISHER, SETTINGS
from ingest.metrics import ReceiverMetrics
from ingest.publisher import Publisher
from ingest.settings import IngestSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger(__name__)


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


def create_app(settings: IngestSettings, shared_metrics: str | None = None) -> web.Application:
    """A receiver for `settings`; the producer starts and stops with the app. `shared_metrics`
    is the multiprocess metrics directory when this app is one of several workers."""
    # aiohttp enforces the limit while reading, so an oversized body is never buffered whole.
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[_bounded])
    app[SETTINGS] = settings
    app[METRICS] = metrics = ReceiverMetrics(shared_metrics)
    app[COUNTS] = Counts(metrics)
    app[IN_FLIGHT] = [0]
    app.cleanup_ctx.append(_publisher_ctx)
    app.router.add_post("/webhooks/{source:eduzz}", handlers.webhook)
    app.router.add_post("/webhooks/{source:toolzz}", handlers.webhook)
    app.router.add_post("/webhooks/{source:toolzz}/{token}", handlers.webhook)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/readyz", handlers.readyz)
    app.router.add_get("/stats", handlers.stats)
    app.router.add_get("/metrics", metrics.handler)
    return app


def serve(settings: IngestSettings, reuse_port: bool = False,
          shared_metrics: str | None = None) -> None:
    """Serve until SIGINT/SIGTERM, then stop gracefully. `reuse_port` lets several workers
    listen on one port (SO_REUSEPORT)."""
    log.info("receiver listening on %s:%d", settings.host, settings.port)
    # run_app handles SIGINT/SIGTERM: it closes the listener, waits for requests in flight,
    # then runs the cleanup contexts (the producer flush).
    web.run_app(create_app(settings, shared_metrics), host=settings.host, port=settings.port,
                reuse_port=reuse_port or None, access_log=None, print=None,
                shutdown_timeout=settings.publish_timeout + 5, **server_args(settings))
