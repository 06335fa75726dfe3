"""The read-only snapshot readers open while the consumer owns the store.

DuckDB lets one process write a file or many read it, never both; so between batches the
consumer checkpoints its file, then copies it beside the snapshot while the next batches
are written (Connection.frozen says why that copy is the checkpointed store) and renames
the copy over it. A reader sees the old file or the new one, never a part of either, and one
that has the old file open keeps reading it (a POSIX rename leaves its inode alone).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from consumer.ops import disk
from consumer.settings import FREE_SPACE_WARNING
from consumer.store import Error as StoreError
from consumer.store import Store, explain

log = logging.getLogger(__name__)
MAX_SHARE = 0.1  # most of the consumer's time snapshots may take
# Readers read only the snapshot, and rows not folded yet cost every read of the current
# state (the state macros merge them in): a snapshot folds them first, once there are this
# many. Fewer are left pending: a fold's cost is mostly a fixed pass over the folded tables
# (3.8 s CPU at 10M events, README Performance), too much to pay for a few rows every
# interval when the topic is quiet.
FOLD_FIRST = 50_000


class Published(NamedTuple):
    """One snapshot: when it was taken, how long it took, its size."""

    as_of: datetime
    seconds: float  # the checkpoint and the copy, without the fold or waiting for the lock
    size: int
    held: float  # of `seconds`, those the writer waited: the checkpoint, not the copy


def publish(store: Store, dest: Path, fold_first: int = FOLD_FIRST,
            beside: bool = False) -> Published:
    """Fold the store's pending rows if there are `fold_first` of them, then copy the store
    to `dest` atomically. Blocking: run it off the event loop. The fold waits for the batch
    in hand and holds the store's lock, or with `beside` (a backlog: Snapshots.maybe) runs
    in a transaction beside the writer's (Store.fold); the checkpoint waits for the batch
    in hand and holds the lock; the copy runs without a transaction (Connection.frozen),
    so the writer goes on meanwhile. The checkpoint comes after the fold committed, so the
    copy holds its rows folded. One at a time per store."""
    with store.publishing:
        store.fold(fold_first, beside=beside)
        tmp = dest.with_name(dest.name + ".tmp")
        as_of = datetime.now(UTC)
        tmp.unlink(missing_ok=True)  # left by a crash, and read-only: copyfile cannot open it
        try:
            # `held` leaves out the wait for the batch in hand: the writer's own time, which
            # counted in the cap (Snapshots._take) spaced snapshots out for no cost of theirs.
            with store.frozen(as_of) as (source, size, held):
                started = time.perf_counter()
                # The first `size` bytes are the store as of the checkpoint, and stay so until
                # the block exits, whatever the writer commits meanwhile. No fsync: a copy
                # lost in a crash is made again at the next start.
                copy(source, tmp, size)
            os.chmod(tmp, 0o444)  # a copy: writes belong in the consumer's own file
            # A WAL left by someone who opened the snapshot read-write would be replayed into
            # the new file, which it does not belong to.
            dest.with_name(dest.name + ".wal").unlink(missing_ok=True)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Published(as_of, held + time.perf_counter() - started, dest.stat().st_size,
                         held)


def copy(source: int, dest: Path, size: int | None = None) -> None:
    """Copy the first `size` bytes (default: all) of the file behind descriptor `source` to
    a new file `dest`, by the kernel (sendfile) where it can, at explicit offsets, so
    `source` is neither moved nor closed."""
    size = os.fstat(source).st_size if size is None else size
    with open(dest, "xb") as out:
        offset = 0
        while offset < size:
            if hasattr(os, "sendfile"):
                sent = os.sendfile(out.fileno(), source, offset, size - offset)
            else:  # no sendfile (Windows): through a buffer
                sent = out.write(os.pread(source, min(size - offset, 1 << 20), offset))
            if not sent:
                raise OSError(f"the store shrank while it was copied ({offset} of {size} bytes)")
            offset += sent


class Snapshots:
    """When to publish: at start, then at most every `interval` seconds while messages
    arrive, and once more at shutdown. `interval` 0 turns snapshots off. Under a backlog
    it also starts the fold that FOLD_AT pending rows call for, beside the batches: one
    piece of work beside them at a time."""

    def __init__(self, store: Store, dest: Path, interval: float,
                 on_published: Callable[[float], None] = lambda unix_time: None,
                 free_space_warning: str = FREE_SPACE_WARNING) -> None:
        self.store = store
        self.warn_below = disk.size_bytes(free_space_warning)
        self._low = False  # free space below warn_below at the last snapshot
        self.on_published = on_published  # told the publish time (the metrics' snapshot age)
        self.dest = dest
        self.interval = interval
        self.enabled = interval > 0 and store.path != ":memory:"
        self.taken = 0
        self._due = 0.0  # monotonic time of the next snapshot
        self._seen = -1  # messages consumed when the last one was taken; -1: none yet
        self._running: asyncio.Task[None] | None = None  # the snapshot being taken

    async def maybe(self, consumed: int, backlog: bool = False) -> None:
        """Publish if the interval has elapsed and messages arrived since the last one. Until
        one has been published (at start) it is awaited, so readers have a file once the
        consumer is ready; later ones run beside the batches (their checkpoint waits for the
        batch in hand, their copy does not stop the writer, nor their fold under a
        `backlog`: the last poll brought a full batch, so more wait; Store.fold says why
        only then)."""
        if self._running is not None:
            if not self._running.done():
                if not backlog and self.store.sharing:
                    await asyncio.to_thread(self.store.caught_up)
                return
            running, self._running = self._running, None
            running.result()  # an unexpected error surfaces here, as when it was awaited
        if self.enabled and consumed != self._seen and time.monotonic() >= self._due:
            self._running = asyncio.create_task(self._take(consumed, beside=backlog))
            if not self.taken:
                await self._settle()
        elif backlog and self.store.pending >= self.store.fold_at:
            # The writer's own fold at FOLD_AT, which under a backlog it leaves to this
            # (Worker: up to BACKLOG_FOLD_AT): beside the batches, not in one of them. At
            # 10M events the writer stood 6 s for a fold of 500,000 rows, then 3.3 s for the
            # checkpoint after it (README "Performance").
            self._running = asyncio.create_task(asyncio.to_thread(
                self.store.fold, self.store.fold_at, True))

    def now(self) -> None:
        """Publish at once, blocking (the store was changed by a request): also when
        snapshots are off but an older copy exists, which must not outlive the change."""
        if self.enabled or (self.store.path != ":memory:" and self.dest.exists()):
            p = publish(self.store, self.dest)
            self.taken += 1
            self.on_published(p.as_of.timestamp())

    async def _settle(self) -> None:
        """Until the snapshot being taken, if any, is published (or failed)."""
        if self._running is not None:
            running, self._running = self._running, None
            await running

    async def final(self, consumed: int) -> None:
        """After the last batch: publish what the previous snapshot does not hold yet."""
        await self._settle()
        if self.enabled and consumed != self._seen:
            await self._take(consumed, fold_first=1)  # the store folds all at close anyway

    async def _take(self, consumed: int, fold_first: int = FOLD_FIRST,
                    beside: bool = False) -> None:
        started = time.monotonic()
        low = disk.low_space(self.dest.parent, self.warn_below)
        if low and not self._low:  # said once each time it crosses the threshold
            log.warning("%s", low)
        self._low = low is not None
        spent = None  # the copy's seconds, without the fold
        try:
            p = await asyncio.to_thread(publish, self.store, self.dest, fold_first, beside)
        except (OSError, StoreError) as exc:
            # Readers keep the previous snapshot; ingestion matters more than the copy. A
            # store a failed checkpoint invalidated is reopened by its next use.
            log.error("snapshot to %s failed (%s); retrying in %.0fs", self.dest,
                      explain(exc, str(self.dest.parent)), self.interval)
        else:
            self._seen = consumed
            self.taken += 1
            self.on_published(p.as_of.timestamp())
            log.info("snapshot %s: %.1f MB in %.3fs (the writer waited %.3fs)", self.dest,
                     p.size / 1e6, p.seconds, p.held)
            spent = p.seconds
        # The copy grows with the store: once one takes more than MAX_SHARE of the interval
        # (a store of several GB), the next waits longer, so snapshots never take more than
        # that share of the consumer's time. The copy counts though the writer goes on
        # meanwhile: it takes the disk and the kernel's CPU from the same cores. The fold
        # before it is not counted: it is the writer's work, which FOLD_AT would do anyway
        # (under a backlog it runs beside the batches, on the other core).
        if spent is None:
            spent = time.monotonic() - started
        self._due = started + max(self.interval, spent / MAX_SHARE)
