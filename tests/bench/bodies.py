"""Distinct, realistic webhook bodies for the benchmarks, built from the published fixtures.

Learning events dominate real traffic (heartbeats, lessons), so the learning fixtures weigh
six times the sales and ticket ones. Every body gets its own event id (Eduzz) or a unique
extra field (Toolzz has no id: its event_uid is the body's hash), and its e-mails are one of
`learners` learners, so keys spread over partitions as the receiver's would.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from tests.conftest import signed

FIXTURES = Path(__file__).parent.parent / "fixtures"
LEARNING = ("alpaclass", "nutror", "toolzz")
SECRET = "bench-secret"
TOKEN = "bench-token"


def _templates() -> list[tuple[str, Any]]:
    weighted = []
    for path in sorted(FIXTURES.glob("*/*.json")):
        family = path.parent.name
        source = "toolzz" if family == "toolzz" else "eduzz"
        weighted += [(source, msgspec.json.decode(path.read_bytes()))] * (
            6 if family in LEARNING else 1)
    return weighted


def _emails(node: Any, email: str) -> Any:
    if isinstance(node, dict):
        return {k: _emails(v, email) for k, v in node.items()}
    if isinstance(node, list):
        return [_emails(v, email) for v in node]
    if isinstance(node, str) and "@" in node:
        return email
    return node


def mixed(count: int, seed: int = 1, learners: int = 50_000) -> Iterator[tuple[str, bytes]]:
    """`count` (source, body) pairs, every one a distinct event."""
    rng = random.Random(seed)
    templates = _templates()
    for i in range(count):
        source, template = templates[rng.randrange(len(templates))]
        body = _emails(template, f"learner{rng.randrange(learners)}@example.com")
        if source == "eduzz":
            body["id"] = f"bench-{seed}-{i}"
        else:
            body["bench_seq"] = f"{seed}-{i}"  # unknown fields are ignored, but hashed
        yield source, msgspec.json.encode(body)


def signed_request(source: str, body: bytes, host: str) -> bytes:
    """The whole HTTP/1.1 request as a platform sends it (signed as the tests sign)."""
    path, headers = signed(source, body, SECRET, TOKEN)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (f"POST {path} HTTP/1.1\r\nhost: {host}\r\n{head}"
            f"content-length: {len(body)}\r\n\r\n").encode() + body
