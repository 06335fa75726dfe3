"""The aiohttp application factory: routes, limits, and one cleanup context per resource."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ingest import handlers
from ingest.keys import PUBLISHER, SETTINGS
from ingest.publisher import Publisher
from ingest.settings import IngestSettings


async def _publisher_ctx(app: web.Application) -> AsyncIterator[None]:
    publisher = Publisher(app[SETTINGS])
    app[PUBLISHER] = publisher
    await publisher.start()
    yield
    await publisher.stop()


def create_app(settings: IngestSettings) -> web.Application:
    """A receiver for `settings`; the producer starts and stops with the app."""
    # aiohttp enforces the limit while reading, so an oversized body is never buffered whole.
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_publisher_ctx)
    app.router.add_post("/webhooks/{source:eduzz|toolzz}", handlers.webhook)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/readyz", handlers.readyz)
    return app
