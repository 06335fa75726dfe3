"""Simulated runs stored without Kafka: the journey simulator's deliveries, decoded and
written in batches as the consumer would."""

from __future__ import annotations

from collections.abc import Sequence

from consumer.journeys import Delivery, messages
from consumer.journeys.events import ZONE
from consumer.rows import Batch
from consumer.sources.decoder import Decoder
from consumer.store import Store

SMALL = (30, 5)  # learners, seed: a run in which every view and macro has rows


def load(store: Store, ds: Sequence[Delivery], batch_size: int = 10_000) -> None:
    """Decode and store `ds` as the consumer would, in batches, without Kafka."""
    decoder = Decoder({"eduzz": ZONE, "toolzz": ZONE})
    batch = Batch()
    for m in messages(ds):
        batch.add(m.partition, m.offset, decoder.decode(m))
        if batch.messages >= batch_size:
            store.write(batch, "sim")
            batch = Batch()
    store.write(batch, "sim")
