"""Logging set-up shared by the consumer-side commands: one line per batch or lifecycle step."""

from __future__ import annotations

import logging
import sys


def setup(level: str) -> None:
    """Log to stderr at `level`; stdout stays for the commands' own output."""
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiokafka narrates every group rebalance at INFO; our own lines say what matters.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
