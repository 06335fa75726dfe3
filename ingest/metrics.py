"""The receiver's Prometheus metrics, served at `GET /metrics`.

Each app has its own CollectorRegistry (tests run many apps in one process). With
`--workers N` the workers share one port, so a scrape lands on any of them: they then run
prometheus-client's multiprocess mode (a directory of per-process files the parent
creates), and every worker's `/metrics` answers the sum over all workers.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.multiprocess import MultiProcessCollector

# Publish latency is a broker round trip with acks=all: milliseconds when healthy, up to
# the publish timeout (5 s by default) when not.
PUBLISH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0)


class ReceiverMetrics:
    """Requests by source and status, signature failures, publish latency."""

    def __init__(self, shared_dir: str | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "learnstream_webhook_requests", "Webhook requests answered, by source and status",
            ["source", "status"], registry=self.registry)
        self.signature_failures = Counter(
            "learnstream_signature_failures",
            "Webhooks refused with 401: wrong or missing x-signature (eduzz) or URL token "
            "(toolzz)", ["source"], registry=self.registry)
        self.publish_seconds = Histogram(
            "learnstream_publish_seconds",
            "Time from publish to the broker's acknowledgement (or failure)",
            registry=self.registry, buckets=PUBLISH_BUCKETS)
        scraped = self.registry
        if shared_dir is not None:  # every worker's files, not only this process's values
            scraped = CollectorRegistry()
            MultiProcessCollector(scraped, path=shared_dir)  # type: ignore[no-untyped-call]
        self.handler = make_aiohttp_handler(scraped)
        # The labelled children, looked up once per (source, status): `labels()` costs a
        # lock and a tuple per call, and only a handful of combinations exist.
        self._children: dict[tuple[str, int], tuple[Counter, ...]] = {}

    def answered(self, source: str, status: int) -> None:
        """Count one webhook request and its status."""
        children = self._children.get((source, status))
        if children is None:
            children = (self.requests.labels(source, str(status)),)
            if status == 401:
                children += (self.signature_failures.labels(source),)
            self._children[(source, status)] = children
        for child in children:
            child.inc()

    def answered_counts(self) -> dict[tuple[str, int], int]:
        """This process's count per (source, status): what `/stats` reports."""
        return {(s.labels["source"], int(s.labels["status"])): int(s.value)
                for metric in self.requests.collect() for s in metric.samples
                if s.name.endswith("_total")}
