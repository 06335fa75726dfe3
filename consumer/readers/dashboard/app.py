"""The dashboard's aiohttp application: the page, its JSON panels, the at-risk CSV, plotly.js
from the installed `plotly` wheel (nothing from another host: the page works offline), and
the token rule for anything but a loopback address."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import msgspec
from aiohttp import web

from consumer.readers.dashboard.access import SETTINGS, guard
from consumer.readers.dashboard.assets import Asset, load_assets, send
from consumer.readers.dashboard.common import Context
from consumer.readers.dashboard.details import at_risk_query
from consumer.readers.dashboard.filters import BadParameter, Filters, parse
from consumer.readers.dashboard.panels import PANELS
from consumer.readers.dashboard.reader import Reader
from consumer.readers.dashboard.sales import BUYERS_COLUMNS, buyers_query
from consumer.readers.dashboard.source import Missing, missing_message
from consumer.settings import DashboardSettings

log = logging.getLogger(__name__)
READER = web.AppKey("reader", Reader)
ASSETS = web.AppKey("assets", dict[str, Asset])


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
    return send(request, asset, "public, max-age=31536000, immutable"
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


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What a CSV route reads: the query of the filters (given the snapshot's context), its
# header row.
Query = Callable[[Filters, Context], tuple[str, dict[str, Any]]]


def csv_download(query: Query, columns: Sequence[str], filename: str) -> Handler:
    """A route answering every row of `query` for the request's filters as CSV (the table
    on the page shows the first rows only). Learners' or buyers' e-mails: it is behind the
    token rule like every route, and nothing of it is logged."""
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            f = parse(request.query.items())
        except BadParameter as exc:
            return web.Response(status=400, text=f"{exc}\n")
        reader = request.app[READER]
        try:
            ident, ctx = await reader.context()
            sql, params = query(f, ctx)
            rows = await reader.rows(sql, params, ident)
        except Missing as exc:
            return web.Response(status=503, text=f"{exc}\n")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        return web.Response(text=out.getvalue(), content_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store"})
    return handler


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
    app.router.add_get("/at-risk.csv", csv_download(at_risk_query, (
        "learner_key", "course_key", "course_name", "last_activity_at", "days_inactive"),
        "at-risk.csv"))
    app.router.add_get("/buyers-not-started.csv", csv_download(
        buyers_query, BUYERS_COLUMNS, "buyers-not-started.csv"))
    app.router.add_get("/static/{name}", static)
    return app
