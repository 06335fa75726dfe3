"""HTTP handlers: webhooks in, health out. Every rejection carries a one-line reason."""

from __future__ import annotations

import logging

from aiohttp import web

from ingest import message
from ingest.keys import PUBLISHER, SETTINGS
from ingest.publisher import TooLarge, Unavailable

log = logging.getLogger(__name__)

SOURCES = frozenset({"eduzz", "toolzz"})


def _reject(status: int, reason: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=reason + "\n", headers=headers)


async def webhook(request: web.Request) -> web.Response:
    """Publish the raw body to Kafka; answer 200 only once the broker acknowledged it."""
    source = request.match_info["source"]
    settings = request.app[SETTINGS]
    limit = settings.max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        return _reject(413, f"body of {length} bytes exceeds the {limit} byte limit")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _reject(413, f"body exceeds the {limit} byte limit")
    if not body:
        return _reject(400, "empty body: a JSON object is required")
    try:
        key = message.partition_key(source, body)
    except message.NotJson as exc:
        return _reject(400, str(exc))
    except RecursionError:
        return _reject(400, "body is nested too deeply to be a webhook")
    try:
        await request.app[PUBLISHER].publish(key, body, message.headers(source, request.headers))
    except TooLarge as exc:
        return _reject(413, str(exc))
    except Unavailable as exc:
        log.warning("publish failed for %s webhook: %s", source, exc)
        retry = str(max(1, round(settings.publish_timeout)))
        return _reject(503, f"event not stored, retry later: {exc}", **{"Retry-After": retry})
    return web.Response(text="ok\n")


async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers."""
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    """Ready: the producer is connected and the broker acknowledges writes."""
    if request.app[PUBLISHER].ready:
        return web.Response(text="ready\n")
    return _reject(503, "not ready: broker not connected or not acknowledging")
