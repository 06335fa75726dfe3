"""Where to resume reading: the offsets DuckDB stored with the rows, checked against the log.

A stored offset only means something in the log it was read from. A topic recreated, or
an in-memory broker restarted, starts a new log at offset 0 that may by now be longer than
the old one, so its length proves nothing. Instead the consumer seeks one record back, to
the last record it stored, and compares that record's fingerprint (SHA-256 of its bytes)
with the one stored beside the offset: the same bytes mean the same log; anything else
means a new log, which is read from its start (event_uid dedupe skips what is stored).

The listener gets `StoredOffsets`, the store's offsets for the topic and the lock the worker
holds while a batch is in hand, not the worker (the shape of aiokafka's
examples/local_state_consumer.py, whose listener gets the local state): the worker imports
this module, never the other way round.

That check needs a record to read, and a new log shorter than the stored offsets has none
there: a broker answers a fetch past the end of a new log with an empty batch, not an
out-of-range error, and the consumer would wait at its old offsets, storing nothing, until
the new log grew past them. So after every poll, each assigned partition the poll brought
nothing for compares the high watermark of its latest fetch with its position: a log that
ends before the position is a new log too. The watermark of the fetch, not a ListOffsets
request: Tansu answers ListOffsets with the start of the last batch, not the end of the
log, which would make every caught-up partition look new.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError

from consumer.store import Store

log = logging.getLogger(__name__)



def fingerprint(value: bytes | None) -> str:
    """What identifies a record's bytes, stored beside the offset after it."""
    return hashlib.sha256(value or b"").hexdigest()


class StoredOffsets:
    """The offsets the store holds for one topic, read and forgotten off the event loop, and
    `in_hand`: held from a poll's result to its commit, so no batch is written between a
    rebalance's read of the offsets and its seeks."""

    def __init__(self, store: Store, topic: str) -> None:
        self._store, self._topic = store, topic
        self.in_hand = asyncio.Lock()

    async def positions(self) -> dict[int, tuple[int, str | None]]:
        """Per partition: (next offset, fingerprint of the record before it)."""
        return await asyncio.to_thread(self._store.positions, self._topic)

    async def forget(self, partitions: Sequence[int]) -> None:
        """Drop the offsets of partitions whose log turned out new."""
        await asyncio.to_thread(self._store.forget_offsets, self._topic, partitions)


class ResumeFromStore(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment: seek to the last stored record, to be checked by `checked()`."""

    def __init__(self, offsets: StoredOffsets, consumer: AIOKafkaConsumer,
                 on_new_log: Callable[[int], None] = lambda partition: None) -> None:
        self._offsets, self._consumer = offsets, consumer
        self._on_new_log = on_new_log  # counts the partition (learnstream_new_logs_total)
        self.pending: dict[int, tuple[int, str]] = {}  # partition -> (offset, fingerprint)
        self.generation = 0  # assignments so far: records polled under an older one are stale
        self.waiting = 0  # rebalance callbacks waiting for the batch in hand: do not linger

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Let the batch in hand be written and committed before the partitions go."""
        async with self._waiting_for_the_batch():
            self.pending.clear()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Seek each assigned partition back to its last stored record (or to the stored
        offset when no fingerprint was kept). A partition this store never read starts at the
        log's beginning, never at the group's commit: that belongs to whatever store the
        group fed before (the group commit is for lag tools only)."""
        async with self._waiting_for_the_batch():  # no batch written between read and seek
            self.generation += 1
            stored = await self._offsets.positions()
            fresh = [tp for tp in assigned if tp.partition not in stored]
            if fresh:  # one reset for them all: each waits out a fetch in flight (up to 0.5 s)
                await self._consumer.seek_to_beginning(*fresh)
            for tp in assigned:
                if tp.partition not in stored:
                    continue
                next_offset, last = stored[tp.partition]
                if next_offset > 0 and last:
                    self.pending[tp.partition] = (next_offset - 1, last)
                    self._consumer.seek(tp, next_offset - 1)
                else:
                    self._consumer.seek(tp, next_offset)
            log.info("assigned partitions %s; resuming from stored offsets %s",
                     sorted(tp.partition for tp in assigned),
                     {tp.partition: stored[tp.partition][0] for tp in assigned
                      if tp.partition in stored})

    @contextlib.asynccontextmanager
    async def _waiting_for_the_batch(self) -> AsyncIterator[None]:
        """The in-hand lock, counted in `waiting` until it is taken, so the batch in hand is
        written without lingering for more polls."""
        self.waiting += 1
        try:
            await self._offsets.in_hand.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._offsets.in_hand.release()

    async def check_ends(self, idle: Collection[TopicPartition]) -> None:
        """Rewind any of `idle` (assigned partitions the last poll brought nothing for) whose
        latest fetch says the log ends before the consumer's position: it is a new log."""
        if not idle:
            return
        async with self._offsets.in_hand:
            assigned = self._consumer.assignment()
            behind: list[TopicPartition] = []
            for tp in idle:
                high = self._consumer.highwater(tp) if tp in assigned else None
                if high is None:
                    continue  # revoked meanwhile, or not fetched yet
                try:  # immediate when known; a partition being reset is checked next time
                    at = await asyncio.wait_for(self._consumer.position(tp), 1.0)
                except (IllegalStateError, TimeoutError):
                    continue
                if high < at:
                    log.warning("partition %d is a new log (it ends at offset %d, before the "
                                "stored position %d); reading it from the start",
                                tp.partition, high, at)
                    behind.append(tp)
            await self._restart(behind)

    async def _restart(self, partitions: list[TopicPartition]) -> None:
        """Forget the stored offsets of new logs and read them from their start."""
        if not partitions:
            return
        await self._offsets.forget([tp.partition for tp in partitions])
        for tp in partitions:
            self.pending.pop(tp.partition, None)
            self._on_new_log(tp.partition)
            await self._consumer.seek_to_beginning(tp)

    async def checked(self, records: dict[TopicPartition, list[Any]]
                      ) -> dict[TopicPartition, list[Any]]:
        """The records to store: the re-read last record of a verified log is dropped; a
        partition whose log turned out new is rewound to its start and skipped for now."""
        out: dict[TopicPartition, list[Any]] = {}
        for tp, msgs in records.items():
            expected = self.pending.pop(tp.partition, None)
            if expected is None:
                out[tp] = msgs
                continue
            first = msgs[0]
            if first.offset == expected[0] and fingerprint(first.value) == expected[1]:
                if len(msgs) > 1:
                    out[tp] = msgs[1:]
                continue
            log.warning("partition %d is a new log (offset %d is not the record stored last); "
                        "reading it from the start", tp.partition, expected[0])
            await self._restart([tp])
        return out
