"""The aiohttp application: routes, limits, one cleanup context per resource, and `serve`."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from typing import Any, TypedDict

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ingest import handlers
from ingest.budget import ByteBudget
from ingest.counters import Counts
from ingest.keys import COUNTS, METRICS, PUBLISHER, ROUTES, SETTINGS
from ingest.metrics import ReceiverMetrics
from ingest.publisher import Publisher
from ingest.settings import IngestSettings

log = logging.getLogger(__name__)

GC_THRESHOLD = 20_000  # allocations between gen-0 collections (CPython default: 700)


async def _publisher_ctx(app: web.Application) -> AsyncIterator[None]:
    publisher = Publisher(app[SETTINGS])
    app[PUBLISHER] = app[ROUTES].publisher = publisher
    await publisher.start()
    yield
    await publisher.stop()


class _MalformedRequests(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger, except that a request aiohttp could not parse (bad or
    duplicate Content-Length, Content-Length with chunked, bad header characters) is a
    counted rejection, logged in summary like the others, instead of an ERROR traceback
    per request: the client already got aiohttp's 400."""

    def __init__(self, counts: Counts) -> None:
        super().__init__(logging.getLogger("aiohttp.server"))
        self._counts = counts

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Count a parse failure, pass anything else (a bug of ours) on unchanged."""
        exc = kwargs.get("exc_info")
        if isinstance(exc, web.RequestPayloadError):
            # A body that cannot be read (corrupt gzip) raises again when aiohttp drains it
            # after our answer: the handler already answered 400 and counted it.
            return
        if isinstance(exc, HttpProcessingError):
            first = str(exc.message).splitlines()[0].rstrip(": ") if exc.message else ""
            self._counts.rejected("?", exc.code or 400,
                                  f"malformed HTTP request: {first or type(exc).__name__}")
            return
        super().log(level, msg, *args, **kwargs)


class ServerArgs(TypedDict):
    keepalive_timeout: float
    logger: logging.LoggerAdapter[logging.Logger]
    access_log: None


def server_args(app: web.Application) -> ServerArgs:
    """aiohttp server arguments for `app`. Its keep-alive timer runs from the moment a
    connection opens, so it also bounds how long a client may take to send its headers.
    No access log: a line per request is what the counters and summaries replace."""
    return ServerArgs(keepalive_timeout=app[SETTINGS].header_timeout,
                      logger=_MalformedRequests(app[COUNTS]), access_log=None)


def create_app(settings: IngestSettings, shared_metrics: str | None = None) -> web.Application:
    """A receiver for `settings`; the producer starts and stops with the app. `shared_metrics`
    is the multiprocess metrics directory when this app is one of several workers."""
    # aiohttp enforces the limit while reading, so an oversized body is never buffered whole.
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[METRICS] = metrics = ReceiverMetrics(shared_metrics)
    app[COUNTS] = counts = Counts(metrics)
    app[ROUTES] = hooks = handlers.Routes(
        settings, counts, metrics, ByteBudget(settings.max_unverified_bytes))
    app.cleanup_ctx.append(_publisher_ctx)
    app.router.add_post("/webhooks/eduzz", hooks.eduzz)
    app.router.add_post("/webhooks/toolzz", hooks.toolzz)
    app.router.add_post("/webhooks/toolzz/{token}", hooks.toolzz)
    app.router.add_get("/healthz", hooks.healthz)
    app.router.add_get("/readyz", hooks.readyz)
    app.router.add_get("/stats", hooks.stats)
    app.router.add_get("/metrics", metrics.handler)
    return app


def _quiet_gc() -> None:
    """Fewer garbage collections per request: a request allocates some hundreds of objects,
    so the default gen-0 threshold (700) ran a collection every few requests, each one
    walking the young objects of every request in flight (4% of the receiver's samples).
    Its objects die with the request, by reference counting; cycles are still collected,
    at a bounded cost (a collection per 20,000 allocations). The start-up objects (modules,
    the app) are moved out of the collector's sight: they live as long as the process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)


def serve(settings: IngestSettings, reuse_port: bool = False,
          shared_metrics: str | None = None) -> None:
    """Serve until SIGINT/SIGTERM, then stop gracefully. `reuse_port` lets several workers
    listen on one port (SO_REUSEPORT)."""
    log.info("receiver listening on %s:%d", settings.host, settings.port)
    # run_app handles SIGINT/SIGTERM: it closes the listener, waits for requests in flight,
    # then runs the cleanup contexts (the producer flush).
    app = create_app(settings, shared_metrics)
    _quiet_gc()
    web.run_app(app, host=settings.host, port=settings.port,
                reuse_port=reuse_port or None, print=None,
                shutdown_timeout=settings.publish_timeout + 5, **server_args(app))
