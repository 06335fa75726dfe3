"""Per-source counts of one batch for the `deliveries` table, from which the duplicate rate
is read. Pure bookkeeping over the batch: the store writes the rows in the batch's transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence, Set
from datetime import datetime

from consumer.rows import Batch, Delivery, RawRow

Position = tuple[int, int]


def deliveries(batch: Batch, dropped: set[Position], conflicts: Sequence[RawRow],
               at: datetime, suppressed: Set[Position] = frozenset()) -> list[Delivery]:
    """One Delivery per source of `batch`, given the positions the store dropped (as
    redeliveries, or those of them in `suppressed` as naming an erased person) and the
    conflicting copies it kept aside. A message is a position with a raw row or a dead letter
    (a message with both counts once); a ping has neither and no source."""
    sources: dict[Position, str] = {(d.kafka_partition, d.kafka_offset): d.source
                                    for d in batch.dead}
    sources.update({(r.kafka_partition, r.kafka_offset): r.source for r in batch.raw})
    messages = Counter(sources.values())
    duplicates = Counter(source for position, source in sources.items()
                         if position in dropped and position not in suppressed)
    erased = Counter(source for position, source in sources.items() if position in suppressed)
    new = Counter(r.source for r in batch.raw
                  if (r.kafka_partition, r.kafka_offset) not in dropped)
    letters = Counter(d.source for d in batch.dead
                      if (d.kafka_partition, d.kafka_offset) not in dropped)
    conflicting = Counter(r.source for r in conflicts)
    return [Delivery(at, source, count, new[source], duplicates[source], conflicting[source],
                     letters[source], erased[source])
            for source, count in sorted(messages.items())]

