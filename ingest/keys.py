"""Typed application keys, so handlers get the resources `app.py` created, with their types."""

from aiohttp import web

from ingest.budget import ByteBudget
from ingest.counters import Counts
from ingest.metrics import ReceiverMetrics
from ingest.publisher import Publisher
from ingest.settings import IngestSettings

SETTINGS = web.AppKey("settings", IngestSettings)
PUBLISHER = web.AppKey("publisher", Publisher)
COUNTS = web.AppKey("counts", Counts)
METRICS = web.AppKey("metrics", ReceiverMetrics)
IN_FLIGHT = web.AppKey("in_flight", list[int])  # one mutable cell: requests being handled
UNVERIFIED = web.AppKey("unverified", ByteBudget)
