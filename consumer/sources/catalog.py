"""The supported events, read off the decoders: what the README's event table is made from."""

from __future__ import annotations

from typing import NamedTuple

from consumer.sources import toolzz
from consumer.sources.decoder import EDUZZ_EVENTS


class Supported(NamedTuple):
    source: str
    event_type: str
    table: str
    action: str  # canonical action of learning events; "" for commerce events


def supported_events() -> list[Supported]:
    """Every event type a decoder knows, in a stable order."""
    out = []
    for cls in EDUZZ_EVENTS:
        tag = str(cls.__struct_config__.tag)
        action = getattr(cls, "action", "")
        table = "learning_events" if action else "commerce_events"
        out.append(Supported("eduzz", tag, table, action))
    out += [Supported("toolzz", slug, "learning_events", spec.action)
            for slug, spec in toolzz.SLUGS.items()]
    return sorted(out, key=lambda s: (s.source, s.event_type))


def markdown() -> str:
    """The README table: one row per event type."""
    lines = ["| source | event | table | action |", "|---|---|---|---|"]
    for s in supported_events():
        action = f"`{s.action}`" if s.action else ""
        lines.append(f"| {s.source} | `{s.event_type}` | `{s.table}` | {action} |")
    return "\n".join(lines) + "\n"

