"""Typed application keys, so handlers get the resources `app.py` created, with their types."""

from aiohttp import web

from ingest.publisher import Publisher
from ingest.settings import IngestSettings

SETTINGS = web.AppKey("settings", IngestSettings)
PUBLISHER = web.AppKey("publisher", Publisher)
