"""Who sent a webhook: Eduzz signs the raw body; Toolzz signs nothing, so its URL holds a token.

Both comparisons are constant-time (`hmac.compare_digest`), so response timing reveals
nothing about how much of a guess was right.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Sequence
from typing import Protocol, Self


class Keyed(Protocol):
    """A keyed HMAC state: OpenSSL's own (`_hashlib.HMAC`), or `hmac.HMAC` where there is none."""

    def copy(self) -> Self: ...
    def update(self, msg: bytes) -> None: ...
    def hexdigest(self) -> str: ...


def eduzz_signature(secret: str, body: bytes) -> str:
    """`x-signature` as Eduzz computes it: lowercase hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=4)
def eduzz_keys(eduzz_secrets: str) -> tuple[Keyed, ...]:
    """The HMAC keys of the `eduzz_secrets` setting (comma-separated, several while rotating),
    each keyed once, not per request: a request copies a keyed state (OpenSSL copies the
    context) instead of setting the key up again and looking SHA-256 up in OpenSSL's
    providers, which in the receiver under load cost more than hashing the body. The
    state copied is OpenSSL's own object inside `hmac.HMAC` when it has one: the Python
    wrapper's `copy` builds a second wrapper per request (a third of the check's cost)."""
    keyed = (hmac.new(s.strip().encode("utf-8"), digestmod=hashlib.sha256)
             for s in eduzz_secrets.split(",") if s.strip())
    return tuple(getattr(k, "_hmac", None) or k for k in keyed)


def eduzz_signed(body: bytes, header: str | None, keys: Sequence[Keyed]) -> bool:
    """Whether `header` is the body's signature under any configured key (`eduzz_keys`).

    Several secrets are accepted so one can be rotated: add the new one, switch Eduzz over,
    then drop the old one. Every secret is tried, so the time does not depend on which
    one matched.
    """
    if not header:
        return False
    given = header.strip().lower()
    if not given.isascii():  # a hex digest never matches it (and compare_digest refuses it)
        return False
    matched = False
    for keyed in keys:
        mac = keyed.copy()
        mac.update(body)
        matched |= hmac.compare_digest(mac.hexdigest(), given)
    return matched


def token_matches(given: str | None, expected: str) -> bool:
    """The Toolzz URL token, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode("utf-8"),
                                                     expected.encode("utf-8"))
