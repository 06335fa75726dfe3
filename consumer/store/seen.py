"""Which event_uids may be stored already: a prefilter in front of the primary key.

Looking every event_uid of a batch up in raw_events' primary key cost 12-18 µs per message
(a statement of 1,000 placeholders per 1,000 keys, parsed and planned each time), the
largest single share of the consumer's work; most messages are new events, whose lookup
finds nothing. So the store keeps DuckDB's 64-bit `hash()` of every stored event_uid, loaded
before its first write (at 10M events 0.4 s to read, 0.3 s to sort; 8 bytes per stored
event: 80 MB), and looks up only the event_uids whose hash is there. A hash only says
"maybe": every hit is confirmed in the primary key (consumer/store/dedupe.py), which also
stays as the final guard of exactly-once. What must never happen is a stored event_uid
missing here, so a hash is added as its row is appended, before the commit: a rolled-back
batch leaves extra hashes, which only cost a confirmation. README "Guarantees" and
"Performance".
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import numpy.typing as npt

Hashes = npt.NDArray[np.uint64]
MERGE_AT = 200_000  # recent hashes merged into the main array: this many
UIDS = "_seen_uids"  # the event_uids being hashed, registered for one statement
LIST_BELOW = 500  # fewer uids than this are hashed from a list parameter (Seen.hashes)


class Seen:
    """The hashes of every stored event_uid: a large sorted array, loaded when the store first
    writes events, and a small sorted one of those appended since. New hashes are
    inserted in place, never re-sorted: a batch's insert copies the small array, and
    every MERGE_AT hashes a merge copies the large one once (80 MB at 10M events, about
    40 ms: a fraction of a microsecond per event)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._main: Hashes = np.empty(0, np.uint64)
        self._recent: Hashes = np.empty(0, np.uint64)
        self.load(con)

    def load(self, con: duckdb.DuckDBPyConnection) -> None:
        """Every stored event_uid's hash, read again from raw_events."""
        found = con.execute("select hash(event_uid) as h from raw_events").fetchnumpy()["h"]
        loaded = np.asarray(found, np.uint64)
        del found
        loaded.sort()  # in place: one copy of the hashes, not two
        # Replaced only once read: a failed read leaves the old arrays, never an empty one
        # that would call stored event_uids new.
        self._main, self._recent = loaded, np.empty(0, np.uint64)

    @staticmethod
    def hashes(con: duckdb.DuckDBPyConnection, uids: Sequence[str]) -> Hashes:
        """DuckDB's hash of each of `uids`, in order (the same function as `load` reads).

        The uids go in as a registered numpy column and the hashes come back as one: 0.14 us
        a uid, where a list parameter and a list result cost 1.2 (each element converted
        into a DuckDB list and back into a Python int). A scan keeps its rows' order. But
        the registration costs about 1 ms whatever the uids, the list 0.4 ms for 10 of them:
        a live stream's small polls take the list (even at about 600 uids)."""
        if len(uids) < LIST_BELOW:
            ((listed,),) = con.execute(
                "select list_transform($1::varchar[], lambda u: hash(u))",
                [list(uids)]).fetchall()
            return np.asarray(listed, np.uint64)
        con.register(UIDS, {"u": np.fromiter(uids, dtype=object, count=len(uids))})
        found = con.execute(f"select hash(u) as h from {UIDS}").fetchnumpy()["h"]
        con.unregister(UIDS)  # not after a failure: it would hide it (Store._insert_columns)
        return np.asarray(found, np.uint64)

    def maybe(self, hashes: Hashes) -> npt.NDArray[np.bool_]:
        """Per hash: may its event_uid be stored? False is certain, True needs confirming."""
        return _member(self._main, hashes) | _member(self._recent, hashes)

    def add(self, hashes: Hashes) -> None:
        """Hashes of event_uids being stored."""
        self._recent = _inserted(self._recent, np.unique(hashes))
        if len(self._recent) >= MERGE_AT:
            self._main = _inserted(self._main, self._recent)
            self._recent = np.empty(0, np.uint64)

    @property
    def nbytes(self) -> int:
        """Memory held by the hashes."""
        return int(self._main.nbytes + self._recent.nbytes)


def _inserted(sorted_hashes: Hashes, more: Hashes) -> Hashes:
    """`sorted_hashes` with the sorted `more` put in their places (a repeat is harmless)."""
    return np.insert(sorted_hashes, np.searchsorted(sorted_hashes, more), more)


def _member(sorted_hashes: Hashes, hashes: Hashes) -> npt.NDArray[np.bool_]:
    if not len(sorted_hashes):
        return np.zeros(len(hashes), np.bool_)
    at = np.minimum(np.searchsorted(sorted_hashes, hashes), len(sorted_hashes) - 1)
    return np.asarray(sorted_hashes[at] == hashes)
