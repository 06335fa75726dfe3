"""The page's static files and plotly.min.js from the installed `plotly` wheel (nothing from
another host: the page works offline), gzipped once, with content hashes for their URLs."""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
from typing import NamedTuple

from aiohttp import web


class Asset(NamedTuple):
    """A static file, with its gzip form (plotly.min.js is 4.8 MB, 1.4 MB gzipped) and a
    content hash for its URL, so browsers may cache it for good."""

    body: bytes
    gzipped: bytes
    content_type: str
    digest: str




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


def send(request: web.Request, asset: Asset, cache: str) -> web.Response:
    gz = "gzip" in request.headers.get("Accept-Encoding", "")
    response = web.Response(body=asset.gzipped if gz else asset.body,
                            headers={"Content-Type": asset.content_type,
                                     "Cache-Control": cache, "Vary": "Accept-Encoding",
                                     "ETag": f'"{asset.digest}"'})
    if gz:
        response.headers["Content-Encoding"] = "gzip"
    return response
