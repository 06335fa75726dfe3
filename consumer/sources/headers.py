"""Where a message's headers and its body meet: the event an `x-subscription` names for an
envelope-less body, and a body under the other source's header.

Each source's envelope names its event differently (Eduzz `"event": "<name>"`, Toolzz
`"event": {"slug": ...}`), so a body posted to the other platform's webhook URL would be
read with no event type and counted by nobody; the decoder makes it a dead letter of kind
`source_mismatch` instead (README "What lands in DuckDB").
"""

from __future__ import annotations

from collections.abc import Collection

import msgspec

_ANY = msgspec.json.Decoder()


def other_source(source: str, event: object, eduzz_types: Collection[str]) -> str | None:
    """Why a body whose `event` is `event` belongs to the other source than `source`, the
    header, says; None when it does not. `eduzz_types` are the Eduzz event names known."""
    if source == "eduzz" and isinstance(event, dict) and isinstance(event.get("slug"), str):
        return (f"header `source` is 'eduzz' but the body is a Toolzz event (`event.slug` "
                f"{event['slug'][:80]!r}): posted to the wrong webhook URL?")
    if source == "toolzz" and isinstance(event, str) and event in eduzz_types:
        return (f"header `source` is 'toolzz' but the body is an Eduzz event (`event` "
                f"{event!r}): posted to the wrong webhook URL?")
    return None


def enveloped(value: bytes, subscription: bytes | None,
              eduzz_types: Collection[str]) -> tuple[str, bytes] | None:
    """(event, body in the standard envelope) for a body that lacks `event` (gotcha 1: the
    published MyEduzz contract examples have no envelope) when `x-subscription`
    (`<configuration id>:<event name>`) names a known event; else None."""
    if not subscription:
        return None
    name = subscription.decode("utf-8", "replace").rpartition(":")[2].strip()
    if name not in eduzz_types:
        return None
    try:
        obj = _ANY.decode(value)
    except msgspec.DecodeError:
        return None
    if not isinstance(obj, dict) or "event" in obj:
        return None
    envelope = dict(obj) if "data" in obj else {"data": obj}
    envelope["event"] = name
    return name, msgspec.json.encode(envelope)
