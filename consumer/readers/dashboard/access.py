"""Who may read the dashboard: loopback by default; beyond it a token (bearer, or a cookie
set once from `?token=`) compared in constant time; and headers that keep the page to itself
(README "Dashboard": the at-risk table shows learners' e-mails)."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from consumer.settings import DashboardSettings

SETTINGS = web.AppKey("settings", DashboardSettings)
COOKIE = "learnstream_dashboard"
# Inline styles: plotly sets style attributes on what it draws. Nothing else is allowed
# but this origin: an injected tag could neither run nor call out.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def refusal(settings: DashboardSettings) -> str | None:
    """Why the dashboard must not start, or None: beyond loopback it needs a token (at-risk
    tables show learners' e-mails)."""
    if not is_loopback(settings.dashboard_host) and not settings.dashboard_token:
        return (f"refusing to listen on {settings.dashboard_host} without a token: set "
                "LEARNSTREAM_DASHBOARD_TOKEN (the page shows learners' e-mails), or keep "
                "--host 127.0.0.1")
    return None


def _same(given: str, token: str) -> bool:
    """Constant-time comparison (bytes: compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode(), token.encode())


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The token rule, then headers that keep the page to itself."""
    token = request.app[SETTINGS].dashboard_token
    if token:
        given = request.query.get("token")
        if given is not None:
            if not _same(given, token):
                return web.Response(status=401, text="wrong token\n")
            # Into an HttpOnly cookie, and out of the address bar (and of links, history).
            rest = [(k, v) for k, v in request.query.items() if k != "token"]
            moved = web.Response(status=303, headers={
                "Location": str(request.rel_url.with_query(rest))})
            moved.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
            return moved
        bearer = request.headers.get("Authorization", "")
        scheme, _, value = bearer.partition(" ")
        if not (scheme.lower() == "bearer" and _same(value.strip(), token)) and not _same(
                request.cookies.get(COOKIE, ""), token):
            return web.Response(status=401, text="token required: open the dashboard's URL "
                                "with ?token=... once, or send Authorization: Bearer ...\n")
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
