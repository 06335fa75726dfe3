"""The byte budget of bodies read before their origin is known.

`max_in_flight` bounds how many requests are handled at once, but not their size: 1,000
stalled 1 MB bodies are a gigabyte held before any signature is checked. Each request
therefore reserves the bytes its body may take (its Content-Length, or the body limit when
the length is not declared or the body is compressed) before reading, and gives them back
once the signature is checked; a request that does not fit gets 503 without being read.
"""

from __future__ import annotations


class ByteBudget:
    """Bytes reserved by bodies being read and not yet verified; one event loop owns it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, size: int) -> bool:
        """Reserve `size` bytes; False (nothing reserved) when they do not fit."""
        if self.held + size > self.limit:
            return False
        self.held += size
        return True

    def give(self, size: int) -> None:
        """Return bytes reserved by `take`."""
        self.held -= size
