"""Counts of what the receiver accepted and refused, with rejections logged in summary.

One code path counts everything: each answer goes to the Prometheus counters (`/metrics`),
and `/stats` is read back from them, with the latest reason per rejection kept here.
Rejections are logged at most once per interval per (source, status), with how many there
were: a flood of forged requests must not become a flood of log lines.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from ingest.metrics import ReceiverMetrics

log = logging.getLogger(__name__)

LOG_INTERVAL = 10.0


class Counts:
    """Accepted per source; rejected per source and status, with the latest reason."""

    def __init__(self, metrics: ReceiverMetrics) -> None:
        self.metrics = metrics
        self._reasons: dict[tuple[str, int], str] = {}
        self._unlogged: Counter[tuple[str, int]] = Counter()
        self._logged_at: dict[tuple[str, int], float] = {}

    def accepted(self, source: str) -> None:
        """One webhook published and acknowledged."""
        self.metrics.answered(source, 200)

    def rejected(self, source: str, status: int, reason: str) -> None:
        """One webhook refused; logs a summary line when the interval has passed."""
        self.metrics.answered(source, status)
        key = (source, status)
        self._reasons[key] = reason
        self._unlogged[key] += 1
        now = time.monotonic()
        if now - self._logged_at.get(key, -LOG_INTERVAL) >= LOG_INTERVAL:
            log.warning("rejected %d %s webhook(s) with %d, latest: %s",
                        self._unlogged[key], source, status, reason)
            self._unlogged[key] = 0
            self._logged_at[key] = now

    def snapshot(self) -> dict[str, object]:
        """JSON-ready counts of this process (with --workers, of the worker that answers)."""
        counts = self.metrics.answered_counts()
        return {"accepted": {s: n for (s, st), n in sorted(counts.items()) if st == 200},
                "rejected": [{"source": s, "status": st, "count": n,
                              "latest_reason": self._reasons[(s, st)]}
                             for (s, st), n in sorted(counts.items()) if st != 200]}
