"""Where the consumer stands per partition: the next offset and the fingerprint of the record
before it, written in each batch's transaction (README "Guarantees": nothing lost)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb


def save_offsets(con: duckdb.DuckDBPyConnection, topic: str, next_offsets: dict[int, int],
                 fingerprints: dict[int, str], now: datetime) -> None:
    """Upsert the next offset (and last record's fingerprint) of each partition given."""
    if not next_offsets:
        return
    partitions = list(next_offsets)
    con.execute(
        """insert into consumer_offsets
               (topic, kafka_partition, next_offset, updated_at, last_fingerprint)
           select $1, unnest($2::integer[]), unnest($3::bigint[]), $4,
                  unnest($5::varchar[])
           on conflict do update set next_offset = excluded.next_offset,
                                     updated_at = excluded.updated_at,
                                     last_fingerprint = excluded.last_fingerprint""",
        [topic, partitions, [next_offsets[p] for p in partitions], now,
         [fingerprints.get(p) for p in partitions]])


def forget_offsets(con: duckdb.DuckDBPyConnection, topic: str,
                   partitions: Sequence[int]) -> None:
    """Drop the stored offsets of `partitions`: their log was recreated from scratch."""
    con.execute("delete from consumer_offsets where topic = $1 and kafka_partition in "
                "(select unnest($2::integer[]))", [topic, list(partitions)])


def stored_positions(con: duckdb.DuckDBPyConnection,
                     topic: str) -> dict[int, tuple[int, str | None]]:
    """Per partition: (next offset, fingerprint of the record before it)."""
    rows = con.execute("select kafka_partition, next_offset, last_fingerprint "
                       "from consumer_offsets where topic = $1", [topic]).fetchall()
    return {p: (o, f) for p, o, f in rows}
