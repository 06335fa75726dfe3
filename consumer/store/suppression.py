"""Which people are erased: their identity hashes (suppressed_people, written by
store/erase.py), handed to the Store with the key, so its writes skip messages naming them."""

from __future__ import annotations

import duckdb

from consumer.sources.personal import Suppression, key_id
from consumer.store.db import Store


def suppressed(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[str]]:
    """(every suppressed identity hash, the key ids they were made with)."""
    rows = con.execute("select identity_hash, key_id from suppressed_people").fetchall()
    return {h for h, _ in rows}, {k for _, k in rows}


class KeyProblem(RuntimeError):
    """The pseudonym key is missing or is not the one the suppressions were made with."""


def use_key(store: Store, key: str) -> None:
    """Give `store` the key and the erased people's hashes, so its writes skip them.
    KeyProblem (one line) when suppressions exist that this key cannot check."""
    hashes, key_ids = store.run(suppressed)
    if not key:
        if hashes:
            raise KeyProblem(f"the store suppresses {len(hashes)} identities of erased people "
                             "but LEARNSTREAM_PSEUDONYM_KEY is not set: set the key they were "
                             "made with")
        store.suppression = None
        return
    if key_ids - {key_id(key.encode())}:
        raise KeyProblem("suppressed_people was made with another LEARNSTREAM_PSEUDONYM_KEY: "
                         "set that key (a new key would let erased people back in)")
    store.suppression = Suppression(key.encode(), hashes)
