"""Who sent a webhook: Eduzz signs the raw body; Toolzz signs nothing, so its URL holds a token.

Both comparisons are constant-time (`hmac.compare_digest`), so response timing reveals
nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


def eduzz_signature(secret: str, body: bytes) -> str:
    """`x-signature` as Eduzz computes it: lowercase hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def eduzz_signed(body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """Whether `header` is the body's signature under any configured secret.

    Several secrets are accepted so one can be rotated: add the new one, switch Eduzz over,
    then drop the old one. Every secret is tried, so the time does not depend on which
    one matched.
    """
    if not header:
        return False
    given = header.strip().lower().encode("ascii", "replace")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(eduzz_signature(secret, body).encode("ascii"), given)
    return matched


def token_matches(given: str | None, expected: str) -> bool:
    """The Toolzz URL token, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode("utf-8"),
                                                     expected.encode("utf-8"))
