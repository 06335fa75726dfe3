"""Per-source counts of one batch for the `deliveries` table, and the offsets saved beside them:
the bookkeeping the store writes in each batch's transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import duckdb

from consumer.rows import Batch, Delivery, RawRow

Position = tuple[int, int]


def deliveries(batch: Batch, dropped: set[Position], conflicts: Sequence[RawRow],
               at: datetime) -> list[Delivery]:
    """One Delivery per source of `batch`, given the positions the store dropped as
    redeliveries and the conflicting copies it kept aside. A message is a position with a raw
    row or a dead letter (a message with both counts once); a ping has neither and no source."""
    sources: dict[Position, str] = {(d.kafka_partition, d.kafka_offset): d.source
                                    for d in batch.dead}
    sources.update({(r.kafka_partition, r.kafka_offset): r.source for r in batch.raw})
    messages = Counter(sources.values())
    duplicates = Counter(source for position, source in sources.items() if position in dropped)
    new = Counter(r.source for r in batch.raw
                  if (r.kafka_partition, r.kafka_offset) not in dropped)
    letters = Counter(d.source for d in batch.dead
                      if (d.kafka_partition, d.kafka_offset) not in dropped)
    conflicting = Counter(r.source for r in conflicts)
    return [Delivery(at, source, count, new[source], duplicates[source], conflicting[source],
                     letters[source])
            for source, count in sorted(messages.items())]


def save_offsets(con: duckdb.DuckDBPyConnection, topic: str, next_offsets: dict[int, int],
                  fingerprints: dict[int, str], now: datetime) -> None:
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
