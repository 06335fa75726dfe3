"""HTTP handlers: webhooks in, health out. Every rejection carries a one-line reason."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from ingest import message
from ingest.keys import COUNTS, IN_FLIGHT, METRICS, PUBLISHER, SETTINGS, UNVERIFIED
from ingest.publisher import TooLarge, Unavailable
from ingest.signature import eduzz_keys, eduzz_signed, token_matches

log = logging.getLogger(__name__)

JSON_TYPES = ("application/json", "text/json")


def _reject(request: web.Request, source: str, status: int, reason: str,
            **headers: str) -> web.Response:
    request.app[COUNTS].rejected(source, status, reason)
    return web.Response(status=status, text=reason + "\n", headers=headers)


async def eduzz(request: web.Request) -> web.Response:
    """`POST /webhooks/eduzz` (a route of its own, not a pattern: matched by one lookup)."""
    return await _bounded(request, "eduzz")


async def toolzz(request: web.Request) -> web.Response:
    """`POST /webhooks/toolzz[/<token>]`."""
    return await _bounded(request, "toolzz")


async def _bounded(request: web.Request, source: str) -> web.Response:
    """Beyond `max_in_flight` webhooks at once, answer 503 before reading any body, so
    memory stays bounded (at most max_in_flight x max_body_bytes of bodies). Here rather
    than in a middleware: aiohttp then wraps every request's handler, a cost per request."""
    cell = request.app[IN_FLIGHT]
    if cell[0] >= request.app[SETTINGS].max_in_flight:
        return _reject(request, source, 503, "too many requests in flight, retry later",
                       **{"Retry-After": "1"})
    cell[0] += 1
    try:
        return await webhook(request, source)
    finally:
        cell[0] -= 1


async def webhook(request: web.Request, source: str) -> web.Response:
    """Check origin and shape, publish the raw body, answer 200 once Kafka acknowledged it."""
    settings = request.app[SETTINGS]
    if source == "toolzz" and settings.toolzz_token and not token_matches(
            request.match_info.get("token"), settings.toolzz_token):
        return _reject(request, source, 401, "missing or wrong token in the webhook URL")
    read = await _read_body(request, source)
    if isinstance(read, web.Response):
        return read
    body, signed = read
    inspected, problem = _inspect(source, body)
    if source == "eduzz" and inspected is not None and inspected.event == "ping":
        return web.Response(text="pong\n")  # Eduzz's activation check, signed or not: no event
    refused = _refused(request, source, signed)
    if refused is not None:
        return refused
    if inspected is None:
        return _reject(request, source, 400, problem)
    return await _publish(request, source, inspected.key, body)


async def _read_body(request: web.Request, source: str) -> tuple[bytes, bool] | web.Response:
    """(the body, whether its origin is verified), or the rejection of one too large, too
    slow, cut short or undecodable. The bytes are reserved from the unverified budget while
    they arrive and are checked, so many slow senders cannot hold the memory of many bodies."""
    settings = request.app[SETTINGS]
    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _reject(request, source, 413, f"body of {request.content_length} bytes "
                                             f"exceeds the {limit} byte limit")
    # Reserved before reading: what a compressed or undeclared body may become is the limit.
    size = limit if request.content_length is None or "content-encoding" in request.headers \
        else request.content_length
    budget = request.app[UNVERIFIED]
    if not budget.take(size):
        return _reject(request, source, 503, f"unverified bodies over the {budget.limit} "
                                             "byte budget, retry later", **{"Retry-After": "1"})
    try:
        body = await _read(request, source, limit)
        if isinstance(body, web.Response):
            return body
        secrets = eduzz_keys(settings.eduzz_secrets)
        signed = source != "eduzz" or not secrets or eduzz_signed(
            body, request.headers.get("x-signature"), secrets)
        return body, signed
    finally:
        budget.give(size)


async def _read(request: web.Request, source: str, limit: int) -> bytes | web.Response:
    """The body, or the rejection that says why it could not be read."""
    timeout = request.app[SETTINGS].body_timeout
    try:
        if request.content.is_eof():  # all of it arrived with the headers: no wait, no timer
            return await request.read()
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        return _reject(request, source, 408, f"body not received within {timeout:g}s")
    except web.HTTPRequestEntityTooLarge:
        return _reject(request, source, 413, f"body exceeds the {limit} byte limit")
    except ConnectionResetError:  # nobody to answer, but counted, and not a traceback
        return _reject(request, source, 400, "connection closed before the body was complete")
    except web.RequestPayloadError as exc:  # e.g. a corrupt gzip body: the client's fault
        cause = exc.__cause__ or exc
        detail = str(getattr(cause, "message", cause)).splitlines()[0].rstrip(": ")
        return _reject(request, source, 400, f"body could not be read: {detail}")


def _inspect(source: str, body: bytes) -> tuple[message.Inspected | None, str]:
    """(the body's key and event name, "") or (None, why it is not a JSON object)."""
    if not body:
        return None, "empty body: a JSON object is required"
    try:
        return message.inspect_body(source, body), ""
    except message.NotJson as exc:
        return None, str(exc)
    except RecursionError:
        return None, "body is nested too deeply to be a webhook"


def _refused(request: web.Request, source: str, signed: bool) -> web.Response | None:
    """The rejection of a body not signed by its source or not declared JSON, if any."""
    if not signed:  # origin before shape: a stranger learns nothing about what we parse
        return _reject(request, source, 401, "missing or wrong x-signature")
    if request.headers.get("Content-Type") == "application/json":
        return None  # what the platforms send, as sent: no parsing of parameters needed
    ctype = request.content_type
    if ctype not in JSON_TYPES and not ctype.endswith("+json"):
        return _reject(request, source, 415,
                       f"Content-Type must be application/json, got {ctype}")
    return None


async def _publish(request: web.Request, source: str, key: bytes, body: bytes) -> web.Response:
    settings = request.app[SETTINGS]
    started = time.perf_counter()
    try:
        await request.app[PUBLISHER].publish(key, body, message.headers(source, request.headers))
    except TooLarge as exc:
        return _reject(request, source, 413, str(exc))
    except Unavailable as exc:
        retry = str(max(1, round(settings.publish_timeout)))
        return _reject(request, source, 503, f"event not stored, retry later: {exc}",
                       **{"Retry-After": retry})
    finally:  # failures too: a slow or absent broker is what this histogram is for
        request.app[METRICS].publish_seconds.observe(time.perf_counter() - started)
    request.app[COUNTS].accepted(source)
    return web.Response(text="ok\n")


async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers."""
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    """Ready: the producer is connected and the broker acknowledges writes."""
    if request.app[PUBLISHER].ready:
        return web.Response(text="ready\n")
    return web.Response(status=503, text="not ready: broker not connected or not acknowledging\n")


async def stats(request: web.Request) -> web.Response:
    """Counts since start: accepted per source, rejected per source, status and reason."""
    return web.json_response(request.app[COUNTS].snapshot())
