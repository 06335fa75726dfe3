"""The baseline server: bare aiohttp that reads the body and answers 200, nothing else.

    python -m tests.bench.bare --port P
"""

from __future__ import annotations

import argparse

from aiohttp import web


async def _ok(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="ok\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/webhooks/{tail:.*}", _ok)
    app.router.add_get("/readyz", lambda _: _ok_get())
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


async def _ok_get() -> web.Response:
    return web.Response(text="ready\n")


if __name__ == "__main__":
    main()
