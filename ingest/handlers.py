"""HTTP handlers: webhooks in, health out. Every rejection carries a one-line reason."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from ingest import message
from ingest.budget import ByteBudget
from ingest.counters import Counts
from ingest.metrics import ReceiverMetrics
from ingest.publisher import Publisher, TooLarge, Unavailable
from ingest.settings import IngestSettings
from ingest.signature import eduzz_keys, eduzz_signed, token_matches

log = logging.getLogger(__name__)

JSON_TYPES = ("application/json", "text/json")
# The answers' one header, built once: aiohttp copies it per response, where `text=` parses
# and formats a content type and charset each time (a fifth of building the response).
_TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def _reject(counts: Counts, source: str, status: int, reason: str,
            **headers: str) -> web.Response:
    counts.rejected(source, status, reason)
    return web.Response(status=status, text=reason + "\n", headers=headers)


class Routes:
    """The routes of one app, holding what every request reads: the handlers are its bound
    methods, so a request finds settings, counts, budget and producer on `self` instead of
    looking up an app key per resource and step. `publisher` is set when the producer
    starts."""

    def __init__(self, settings: IngestSettings, counts: Counts, metrics: ReceiverMetrics,
                 budget: ByteBudget) -> None:
        self.settings, self.counts, self.metrics, self.budget = settings, counts, metrics, budget
        self.publisher: Publisher | None = None
        self.in_flight = 0  # webhooks being handled; one event loop owns it
        self.keys = eduzz_keys(settings.eduzz_secrets)
        self.observe = metrics.publish_seconds.observe

    async def eduzz(self, request: web.Request) -> web.Response:
        """`POST /webhooks/eduzz` (a route of its own, not a pattern: matched by one lookup)."""
        return await self._bounded(request, "eduzz")

    async def toolzz(self, request: web.Request) -> web.Response:
        """`POST /webhooks/toolzz[/<token>]`."""
        return await self._bounded(request, "toolzz")

    async def _bounded(self, request: web.Request, source: str) -> web.Response:
        """Beyond `max_in_flight` webhooks at once, answer 503 before reading any body, so
        memory stays bounded (at most max_in_flight x max_body_bytes of bodies). Here rather
        than in a middleware: aiohttp then wraps every request's handler, a cost per request."""
        if self.in_flight >= self.settings.max_in_flight:
            return _reject(self.counts, source, 503, "too many requests in flight, retry later",
                           **{"Retry-After": "1"})
        self.in_flight += 1
        try:
            return await self._webhook(request, source)
        finally:
            self.in_flight -= 1

    async def _webhook(self, request: web.Request, source: str) -> web.Response:
        """Check origin and shape, publish the raw body, answer 200 once Kafka acknowledged it."""
        token = self.settings.toolzz_token
        if source == "toolzz" and token and not token_matches(request.match_info.get("token"),
                                                              token):
            return _reject(self.counts, source, 401, "missing or wrong token in the webhook URL")
        read = await self._read_body(request, source)
        if isinstance(read, web.Response):
            return read
        body, signed = read
        inspected, problem = _inspect(source, body)
        if source == "eduzz" and inspected is not None and inspected.event == "ping":
            return web.Response(body=b"pong\n", headers=_TEXT)  # Eduzz's activation check
        refused = _refused(self.counts, request, source, signed)
        if refused is not None:
            return refused
        if inspected is None:
            return _reject(self.counts, source, 400, problem)
        return await self._publish(request, source, inspected.key, body)

    async def _read_body(self, request: web.Request,
                         source: str) -> tuple[bytes, bool] | web.Response:
        """(the body, whether its origin is verified), or the rejection of one too large, too
        slow, cut short or undecodable. The bytes are reserved from the unverified budget
        while they arrive and are checked, so many slow senders cannot hold the memory of
        many bodies."""
        limit = self.settings.max_body_bytes
        declared = request.content_length
        if declared is not None and declared > limit:
            return _reject(self.counts, source, 413, f"body of {declared} bytes "
                                                 f"exceeds the {limit} byte limit")
        # Reserved before reading: what a compressed or undeclared body may become is the limit.
        if declared is None or "Content-Encoding" in request.headers:
            size, plain = limit, False
        else:
            size, plain = declared, True
        budget = self.budget
        if not budget.take(size):
            return _reject(self.counts, source, 503, f"unverified bodies over the {budget.limit} "
                                                 "byte budget, retry later",
                           **{"Retry-After": "1"})
        try:
            body = await _read(request, self.counts, source, limit, self.settings.body_timeout,
                              plain)
            if isinstance(body, web.Response):
                return body
            signed = source != "eduzz" or not self.keys or eduzz_signed(
                body, request.headers.get("x-signature"), self.keys)
            return body, signed
        finally:
            budget.give(size)

    async def _publish(self, request: web.Request, source: str, key: bytes,
                       body: bytes) -> web.Response:
        started = time.perf_counter()
        publisher = self.publisher
        try:
            if publisher is None:
                raise Unavailable("not connected to the broker yet")
            await publisher.publish(key, body, message.headers(source, request.headers))
        except TooLarge as exc:
            return _reject(self.counts, source, 413, str(exc))
        except Unavailable as exc:
            retry = str(max(1, round(self.settings.publish_timeout)))
            return _reject(self.counts, source, 503, f"event not stored, retry later: {exc}",
                           **{"Retry-After": retry})
        finally:  # failures too: a slow or absent broker is what this histogram is for
            self.observe(time.perf_counter() - started)
        self.counts.accepted(source)
        return web.Response(body=b"ok\n", headers=_TEXT)

    async def healthz(self, request: web.Request) -> web.Response:
        """Alive: the process answers."""
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        """Ready: the producer is connected and the broker acknowledges writes."""
        if self.publisher is not None and self.publisher.ready:
            return web.Response(text="ready\n")
        return web.Response(status=503,
                            text="not ready: broker not connected or not acknowledging\n")

    async def stats(self, request: web.Request) -> web.Response:
        """Counts since start: accepted per source, rejected per source, status and reason."""
        return web.json_response(self.counts.snapshot())


async def _read(request: web.Request, counts: Counts, source: str, limit: int,
                timeout: float, plain: bool) -> bytes | web.Response:
    """The body, or the rejection that says why it could not be read. `plain`: declared
    (within the limit) and not compressed."""
    try:
        content = request.content
        if content.is_eof():  # all of it arrived with the headers: no wait, no timer
            # A plain body is taken as it lies (aiohttp's `read` joins the chunks into a
            # bytearray, checks the limit, then copies it); it raises what `read` would.
            return content.read_nowait() if plain else await request.read()
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        return _reject(counts, source, 408, f"body not received within {timeout:g}s")
    except web.HTTPRequestEntityTooLarge:
        return _reject(counts, source, 413, f"body exceeds the {limit} byte limit")
    except ConnectionResetError:  # nobody to answer, but counted, and not a traceback
        return _reject(counts, source, 400, "connection closed before the body was complete")
    except web.RequestPayloadError as exc:  # e.g. a corrupt gzip body: the client's fault
        cause = exc.__cause__ or exc
        detail = str(getattr(cause, "message", cause)).splitlines()[0].rstrip(": ")
        return _reject(counts, source, 400, f"body could not be read: {detail}")


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


def _refused(counts: Counts, request: web.Request, source: str,
             signed: bool) -> web.Response | None:
    """The rejection of a body not signed by its source or not declared JSON, if any."""
    if not signed:  # origin before shape: a stranger learns nothing about what we parse
        return _reject(counts, source, 401, "missing or wrong x-signature")
    if request.headers.get("Content-Type") == "application/json":
        return None  # what the platforms send, as sent: no parsing of parameters needed
    ctype = request.content_type
    if ctype not in JSON_TYPES and not ctype.endswith("+json"):
        return _reject(counts, source, 415,
                       f"Content-Type must be application/json, got {ctype}")
    return None
