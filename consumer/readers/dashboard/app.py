"""The dashboard's aiohttp application: the page, its JSON panels, the at-risk CSV, plotly.js
from the installed `plotly` wheel (nothing from another host: the page works offline), and
the token rule for anything but a loopback address."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gzip
import hashlib
import hmac
import importlib.resources
import io
import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import NamedTuple

import msgspec
from aiohttp import web

from consumer.readers.dashboard.filters import BadParameter, parse
from consumer.readers.dashboard.panels import PANELS, at_risk_query
from consumer.readers.dashboard.reader import Missing, Reader, missing_message
from consumer.settings import DashboardSettings

log = logging.getLogger(__name__)
SETTINGS = web.AppKey("settings", DashboardSettings)
READER = web.AppKey("reader", Reader)
COOKIE = "learnstream_dashboard"
# Inline styles: plotly sets style attributes on what it draws. Nothing else is allowed
# but this origin: an injected tag could neither run nor call out.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Asset(NamedTuple):
    """A static file, with its gzip form (plotly.min.js is 4.8 MB, 1.4 MB gzipped) and a
    content hash for its URL, so browsers may cache it for good."""

    body: bytes
    gzipped: bytes
    content_type: str
    digest: str


ASSETS = web.AppKey("assets", dict[str, Asset])


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


def _asset(name: str, body: bytes) -> Asset:
    kind = {"js": "text/javascript", "css": "text/css", "html": "text/html"}[
        name.rsplit(".", 1)[1]]
    return Asset(body, gzip.compress(body, 6, mtime=0), f"{kind}; charset=utf-8",
                 hashlib.sha256(body).hexdigest()[:16])


def load_assets() -> dict[str, Asset]:
    """The page's files and plotly.min.js of the installed plotly wheel."""
    static = importlib.resources.files("consumer.readers.dashboard") / "static"
    plotly = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"
    files = {name: (static / name).read_bytes()
             for name in ("index.html", "dashboard.js", "dashboard.css")}
    files["plotly.min.js"] = plotly.read_bytes()
    return {name: _asset(name, body) for name, body in files.items()}


def _send(request: web.Request, asset: Asset, cache: str) -> web.Response:
    gz = "gzip" in request.headers.get("Accept-Encoding", "")
    response = web.Response(body=asset.gzipped if gz else asset.body,
                            headers={"Content-Type": asset.content_type,
                                     "Cache-Control": cache, "Vary": "Accept-Encoding",
                                     "ETag": f'"{asset.digest}"'})
    if gz:
        response.headers["Content-Encoding"] = "gzip"
    return response


async def index(request: web.Request) -> web.StreamResponse:
    """The page; without a snapshot, a page that says how to make one (and reloads)."""
    reader = request.app[READER]
    assets = request.app[ASSETS]
    if reader.identity() is None:
        refresh = request.app[SETTINGS].dashboard_refresh
        text = missing_message(reader.path)
        body = ("<!doctype html><html><head><meta charset='utf-8'>"
                f"<meta http-equiv='refresh' content='{refresh:g}'>"
                "<title>learnstream: no snapshot yet</title></head><body>"
                f"<h1>No snapshot yet</h1><p>{_escape(text)}</p></body></html>")
        return web.Response(status=503, text=body, content_type="text/html")
    page = assets["index.html"].body.decode()
    for name in ("dashboard.js", "dashboard.css", "plotly.min.js"):
        page = page.replace(f"static/{name}", f"static/{name}?v={assets[name].digest}")
    page = page.replace("data-refresh=\"5\"",
                        f"data-refresh=\"{request.app[SETTINGS].dashboard_refresh:g}\"")
    return web.Response(text=page, content_type="text/html",
                        headers={"Cache-Control": "no-cache"})


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    asset = request.app[ASSETS].get(name)
    if asset is None or name == "index.html":
        raise web.HTTPNotFound()
    if request.headers.get("If-None-Match") == f'"{asset.digest}"':
        return web.Response(status=304)
    return _send(request, asset, "public, max-age=31536000, immutable"
                 if request.query.get("v") == asset.digest else "no-cache")


def _json(body: object, status: int = 200) -> web.Response:
    # enc_hook: a value msgspec has no JSON form for (a Decimal, an interval) as its text
    return web.Response(body=msgspec.json.encode(body, enc_hook=str), status=status,
                        content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def _bad(exc: Exception) -> web.Response:
    return _json({"error": str(exc)}, 400)


async def version(request: web.Request) -> web.Response:
    """The cheap endpoint the page polls: which snapshot is there now (one stat)."""
    ident = request.app[READER].identity()
    return _json({"version": ident.version if ident else None})


async def panels(request: web.Request) -> web.Response:
    """`/api/panels?names=a,b&course=...`: the named panels for the filters."""
    names = [n for n in request.query.get("names", "").split(",") if n]
    unknown = [n for n in names if n not in PANELS]
    if not names or unknown:
        return _bad(BadParameter(f"bad parameter names: expected panel names from "
                                 f"{', '.join(PANELS)}, got {','.join(unknown)[:80]!r}"))
    try:
        f = parse(request.query.items(), ignore=frozenset({"names"}))
    except BadParameter as exc:
        return _bad(exc)
    try:
        ident, out = await request.app[READER].panels(names, f)
    except Missing as exc:
        return _json({"error": str(exc), "missing": True}, 503)
    return _json({"version": ident.version, "filters": f.query(), "panels": out})


async def at_risk_csv(request: web.Request) -> web.StreamResponse:
    """Every at-risk row of the filters as CSV (the table shows the first rows only)."""
    try:
        f = parse(request.query.items())
    except BadParameter as exc:
        return web.Response(status=400, text=f"{exc}\n")
    reader = request.app[READER]
    try:
        ident, ctx = await reader.context()
        sql, params = at_risk_query(f, ctx)
        rows = await reader.rows(sql, params, ident)
    except Missing as exc:
        return web.Response(status=503, text=f"{exc}\n")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["learner_key", "course_key", "course_name", "last_activity_at",
                     "days_inactive"])
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return web.Response(text=out.getvalue(), content_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="at-risk.csv"', "Cache-Control": "no-store"})


async def _reader(app: web.Application) -> AsyncIterator[None]:
    """The DuckDB owner lives as long as the app; its connection is closed at shutdown."""
    reader = Reader(app[SETTINGS].snapshot_path)
    app[READER] = reader
    watcher = asyncio.create_task(reader.watch(app[SETTINGS].dashboard_refresh))
    yield
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    await reader.close()


def create_app(settings: DashboardSettings) -> web.Application:
    """The dashboard for `settings` (the caller checks `refusal` first)."""
    app = web.Application(middlewares=[guard])
    app[SETTINGS] = settings
    app[ASSETS] = load_assets()
    app.cleanup_ctx.append(_reader)
    app.router.add_get("/", index)
    app.router.add_get("/api/version", version)
    app.router.add_get("/api/panels", panels)
    app.router.add_get("/at-risk.csv", at_risk_csv)
    app.router.add_get("/static/{name}", static)
    return app
