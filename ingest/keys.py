"""Typed application keys, so handlers get the resources `app.py` created, with their types."""

from aiohttp import web

from ingest.counters import Counts
from ingest.handlers import Routes
from ingest.metrics import ReceiverMetrics
from ingest.publisher import Publisher
from ingest.settings import IngestSettings

SETTINGS = web.AppKey("settings", IngestSettings)
PUBLISHER = web.AppKey("publisher", Publisher)
COUNTS = web.AppKey("counts", Counts)
METRICS = web.AppKey("metrics", ReceiverMetrics)
ROUTES = web.AppKey("routes", Routes)  # the handlers and their state (in flight, budget)
