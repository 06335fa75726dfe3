"""`learnstream ingest`: run the receiver until SIGINT/SIGTERM, then stop gracefully."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from ingest.app import create_app, server_args
from ingest.settings import IngestSettings, env_name, load

log = logging.getLogger(__name__)


def refuse_unsigned(settings: IngestSettings) -> str | None:
    """Why the receiver must not start (secure by default), or None when it may."""
    missing = settings.unsigned_sources()
    if not missing or settings.allow_unsigned:
        return None
    names = {"eduzz": env_name("eduzz_secrets"), "toolzz": env_name("toolzz_token")}
    return (f"no proof of origin configured for {' and '.join(missing)}: set "
            f"{' and '.join(names[m] for m in missing)}, or pass --allow-unsigned "
            "(development only)")


def main(argv: Sequence[str] | None = None) -> None:
    """Parse settings, serve, and on a signal stop accepting, finish requests, flush Kafka."""
    settings = load(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiokafka narrates connection churn at INFO; the receiver's own lines say what matters.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    refusal = refuse_unsigned(settings)
    if refusal:
        sys.exit(f"learnstream ingest: {refusal}")
    for source in settings.unsigned_sources():
        log.warning("accepting UNSIGNED %s webhooks (--allow-unsigned): anyone can post events",
                    source)
    log.info("receiver listening on %s:%d", settings.host, settings.port)
    # run_app handles SIGINT/SIGTERM: it closes the listener, waits for requests in flight,
    # then runs the cleanup contexts (the producer flush).
    web.run_app(create_app(settings), host=settings.host, port=settings.port,
                access_log=None, print=None, shutdown_timeout=settings.publish_timeout + 5,
                **server_args(settings))
