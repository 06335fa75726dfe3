"""`learnstream dashboard [--data-dir DIR | --snapshot PATH] [--host H] [--port P]`: serve the
page until SIGINT/SIGTERM. Its own process: it only reads the snapshot, never the consumer's
file."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from consumer.readers.dashboard.access import refusal
from consumer.readers.dashboard.app import create_app
from consumer.settings import DashboardSettings, load
from ingest import logs

PROG = "learnstream dashboard"


def main(argv: Sequence[str]) -> None:
    """Check the settings, then serve until a stop signal."""
    settings = load(DashboardSettings, argv, PROG)
    logs.setup(settings.log_level, settings.log_format)
    reason = refusal(settings)
    if reason:
        sys.stderr.write(f"{PROG}: {reason}\n")
        raise SystemExit(2)
    asyncio.run(serve(settings))


def url(host: str, port: int) -> str:
    """How a browser reaches `host:port` (an IPv6 address in brackets)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


async def serve(settings: DashboardSettings) -> None:
    """Listen; print one `dashboard ready: URL` line (the real port when --port 0); stop on
    SIGINT/SIGTERM."""
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.dashboard_host, settings.dashboard_port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        sys.stderr.write(f"{PROG}: cannot listen on {settings.dashboard_host}:"
                         f"{settings.dashboard_port} (--host/--port): {exc.strerror}\n")
        raise SystemExit(2) from None
    port = int(runner.addresses[0][1])  # the port actually bound (--port 0 picks one)
    print(f"dashboard ready: {url(settings.dashboard_host, port)} "
          f"(snapshot {settings.snapshot_path})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
