"""Repair without Kafka: re-derive tables from raw_events, replay dead letters. Each runs in
one DuckDB transaction (a failure leaves the store as it was) and reads in bounded chunks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NamedTuple

from consumer.rows import Batch, Decoded
from consumer.settings import ConsumerSettings
from consumer.sources.decoder import Decoder, Message
from consumer.store import Error, Rowtuple, Store
from consumer.store.owner import InUse
from consumer.store.suppression import KeyProblem, use_key

CHUNK = 50_000  # rows decoded per round trip

# `rowid` ranges page through a table with each chunk fetched whole: an unfinished result
# would block the connection the chunk's rows are written on. DuckDB prunes by rowid.
RAW = """select body::varchar, source, received_at, kafka_partition, kafka_offset, event_type
         from raw_events where rowid >= $1 and rowid < $2"""
# Each letter once, with the raw row at its position if any (it names an envelope-less body).
LETTERS = """select distinct on (d.rowid) d.body, d.source, d.received_at, d.kafka_partition,
                    d.kafka_offset, r.event_type, r.event_uid is not null, d.rowid
             from dead_letters d left join raw_events r using (kafka_partition, kafka_offset)
             where d.rowid >= $1 and d.rowid < $2"""
AT = "(kafka_partition, kafka_offset) in (select unnest($1::integer[]), unnest($2::bigint[]))"


class RebuildResult(NamedTuple):
    """What `rebuild` did."""

    raw_events: int  # raw rows read and decoded
    learning: int  # learning_events rows now, all re-derived
    commerce: int  # commerce_events rows now, all re-derived
    dead_letters_added: int  # raw rows that no longer decode
    dead_letters_removed: int  # dead letters at a raw row's position that now decodes


class ReplayResult(NamedTuple):
    """What `replay_dead_letters` did."""

    examined: int  # dead letters before the replay
    replayed: int  # now decode: their rows stored, the dead letter deleted
    still_failing: int  # kept, with the current error and kind
    raw_events: int  # raw rows added: their event_uid was not stored yet
    learning: int  # learning_events rows added
    commerce: int  # commerce_events rows added
    duplicates: int  # replayed, but their event_uid was stored from another message: skipped


def rebuild(settings: ConsumerSettings) -> RebuildResult:
    """Re-derive learning_events and commerce_events from raw_events with the current decoders.

    Raw-backed dead letters follow too: a raw row that no longer decodes gets one, one whose
    raw row now decodes is removed. raw_events, offsets and raw-less dead letters stay as they are.
    """
    decoder, total = Decoder(settings.zones()), RebuildResult(0, 0, 0, 0, 0)
    with _repairing(settings) as db:
        db.query("delete from learning_events")
        db.query("delete from commerce_events")
        for rows in _chunks(db, "raw_events", RAW):
            total = RebuildResult(*map(sum, zip(total, _rebuild(db, decoder, rows), strict=True)))
        db.refold()  # the current state, from the re-derived events alone
    return total


def _rebuild(db: Store, decoder: Decoder, rows: list[Rowtuple]) -> RebuildResult:
    lettered = set(db.query(f"select kafka_partition, kafka_offset from dead_letters where {AT}",
                            [[r[3] for r in rows], [r[4] for r in rows]])[1])
    new, cleared = Batch(), []  # rows to store; dead letters to delete
    outs = [decoder.decode(_message(body.encode(), *meta)) for body, *meta in rows]
    erased = _erased(db, outs)
    for (_, *meta), out in zip(rows, outs, strict=True):
        position = (meta[2], meta[3])
        if position in erased:  # a person erased since (forget removes their raw rows)
            continue
        new.learning += out.learning
        new.commerce += out.commerce
        if out.dead is not None and position not in lettered:
            new.dead.append(out.dead)
        elif out.dead is None and position in lettered:
            cleared.append(position)
    removed = int(db.query(f"delete from dead_letters where {AT}",
                           [[p for p, _ in cleared], [o for _, o in cleared]])[1][0][0])
    return RebuildResult(len(rows), db.append("learning_events", new.learning),
                         db.append("commerce_events", new.commerce),
                         db.append("dead_letters", new.dead), removed)


def replay_dead_letters(settings: ConsumerSettings) -> ReplayResult:
    """Re-decode every dead letter with the current code, in one transaction.

    One that now decodes moves to its tables (its raw row only when that event_uid is not
    stored yet: the first write wins) and is deleted; one that still fails stays with its
    current error, and its raw row is added like the consumer would when the body has one.
    """
    decoder, total = Decoder(settings.zones()), ReplayResult(0, 0, 0, 0, 0, 0, 0)
    with _repairing(settings) as db:
        for rows in _chunks(db, "dead_letters", LETTERS):
            total = ReplayResult(*map(sum, zip(total, _replay(db, decoder, rows), strict=True)))
    return total


def _replay(db: Store, decoder: Decoder, every: list[Rowtuple]) -> ReplayResult:
    rows = every
    outs = [decoder.decode(_message(*row[:6])) for row in rows]
    erased = _erased(db, outs)  # their letter is deleted below and nothing of them stored
    outs = [o for o, row in zip(outs, rows, strict=True) if (row[3], row[4]) not in erased]
    rows = [row for row in rows if (row[3], row[4]) not in erased]
    stored = db.stored([o.raw.event_uid for o in outs if o.raw is not None])
    new, duplicates = Batch(), 0  # rows to store
    for (*_, backed, _rowid), out in zip(rows, outs, strict=True):
        # A raw row at the letter's own position is its own; any other one was the first write.
        duplicate = not backed and out.raw is not None and out.raw.event_uid in stored
        if out.raw is not None and not backed and not duplicate:
            new.raw.append(out.raw)
            stored.add(out.raw.event_uid)
        if out.dead is not None:
            new.dead.append(out.dead)  # replaces the old letter: same message, current error
        elif duplicate:
            duplicates += 1  # a redelivery: the consumer stores no rows for those either
        else:
            new.learning += out.learning
            new.commerce += out.commerce
    db.query("delete from dead_letters where rowid in (select unnest($1::bigint[]))",
             [[row[-1] for row in [*rows, *(r for r in every if (r[3], r[4]) in erased)]]])
    return ReplayResult(len(rows), len(rows) - len(new.dead), db.append("dead_letters", new.dead),
                        db.append("raw_events", new.raw),
                        db.append("learning_events", new.learning),
                        db.append("commerce_events", new.commerce), duplicates)


def _erased(db: Store, outs: list[Decoded]) -> set[tuple[int, int]]:
    """Positions of decoded messages naming a person erased by `forget` (suppression)."""
    if not db.suppression:
        return set()
    batch = Batch()
    for out in outs:
        position = out.raw or out.dead
        if position is not None:
            batch.add(position.kafka_partition, position.kafka_offset, out)
    return db.suppression.positions(batch)


def _message(body: bytes, source: str, received_at: datetime, partition: int, offset: int,
             event_type: str | None) -> Message:
    """The Kafka record as the receiver published it, rebuilt from what the store kept."""
    received = received_at.astimezone(UTC)
    headers = [("source", source.encode()), ("received_at", received.isoformat().encode())]
    if event_type:  # an envelope-less Eduzz body is named by its (unstored) x-subscription
        headers.append(("x-subscription", f":{event_type}".encode()))
    return Message(body, headers, partition, offset, int(received.timestamp() * 1000))


def stopped_store(settings: ConsumerSettings) -> Store:
    """The consumer's existing store, opened for writing; RuntimeError naming the file when it
    is missing (not created empty) or open in a running consumer."""
    path = settings.db_path
    if not path.is_file():
        raise RuntimeError(f"{path} does not exist: no consumer has stored anything there")
    try:
        db = Store(path)
        use_key(db, settings.pseudonym_key)  # erased people stay out of what is re-derived
    except KeyProblem as exc:
        db.close()
        raise RuntimeError(str(exc)) from exc
    except InUse as exc:
        raise RuntimeError(f"{path} is in use by a running consumer: stop it first") from exc
    except Error as exc:
        if "Could not set lock" not in str(exc):  # DuckDB lets one process open a file
            raise
        raise RuntimeError(f"{path} is in use by a running consumer: stop it first") from exc
    return db


@contextmanager
def _repairing(settings: ConsumerSettings) -> Iterator[Store]:
    """The consumer's existing store (stopped_store), in one transaction."""
    db = stopped_store(settings)
    try:
        with db.transaction():
            yield db
    finally:
        db.close()  # checkpointed: the file alone is complete again


def _chunks(db: Store, table: str, sql: str) -> Iterator[list[Rowtuple]]:
    """`sql` once per rowid range [$1, $2) of `table`; rows added meanwhile are not visited."""
    end = db.query(f"select coalesce(max(rowid) + 1, 0) from {table}")[1][0][0]
    for low in range(0, end, CHUNK):
        yield db.query(sql, [low, min(low + CHUNK, end)])[1]

