"""`learnstream ingest`: run the receiver (or `--workers N` of them) until SIGINT/SIGTERM,
then stop gracefully."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from ingest import logs, workers
from ingest.app import serve
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
    logs.setup(settings.log_level, settings.log_format)
    refusal = refuse_unsigned(settings)
    if refusal:
        sys.exit(f"learnstream ingest: {refusal}")
    for source in settings.unsigned_sources():
        log.warning("accepting UNSIGNED %s webhooks (--allow-unsigned): anyone can post events",
                    source)
    if settings.workers > 1:
        sys.exit(workers.supervise(settings))
    serve(settings)
