"""Simulated runs: the journey simulator's deliveries stored without Kafka (decoded and
written in batches as the consumer would) or posted to a receiver, and the views compared
with the oracle's answers."""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp

from consumer.journeys import Delivery, identity, messages
from consumer.journeys.events import ZONE
from consumer.rows import Batch
from consumer.sources.decoder import Decoder
from consumer.store import Store
from tests.conftest import post
from tests.support.oracle import Answer

SMALL = (30, 5)  # learners, seed: a run in which every view and macro has rows
Query = Callable[[str], Sequence[tuple[Any, ...]]]


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


def normal(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows comparable across DuckDB and Python: floats to 6 decimals, times in UTC, sorted."""
    def value(v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 6)
        return v.astimezone(UTC) if isinstance(v, datetime) else v

    fixed = [tuple(value(v) for v in row) for row in rows]
    return sorted(fixed, key=lambda r: tuple((v is None, v if v is not None else 0) for v in r))


def assert_views(query: Query, answers: Sequence[Answer]) -> None:
    """Each view or macro call holds exactly the expected rows."""
    for a in answers:
        got = normal(query(f"select {', '.join(a.columns)} from {a.relation}"))
        want = normal(a.rows)
        if got != want:  # the differences only for the message: a list scan per row is
            # quadratic, and at the large runs' sizes it cost more than the views themselves
            only_db, only_oracle = _only_in(got, want)[:5], _only_in(want, got)[:5]
            raise AssertionError(f"{a.relation}: {len(got)} rows, expected {len(want)}; "
                                 f"only in DuckDB {only_db}; only expected {only_oracle}")


def _only_in(rows: list[tuple[Any, ...]], other: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows of `rows` that `other` lacks, as a multiset (rows may hold lists: keyed by
    repr)."""
    left = Counter(map(repr, other))
    out = []
    for r in rows:
        if left[repr(r)] > 0:
            left[repr(r)] -= 1
        else:
            out.append(r)
    return out


def rows_of(store: Store) -> Query:
    return lambda sql: store.query(sql)[1]


def assert_engagement_terms_folded(store: Store) -> None:
    """The engagement terms the folds took back and added, learner by learner, equal those
    of every folded learner day computed at once (sql/state/91 and 92)."""
    store.query("create or replace temp view _all_days as "
                "select 1 as sign, * from learner_days_folded")
    terms = ("select * from {} where (dau, events, week_change, month_change) "
             "<> (0, 0, 0, 0) order by all")
    assert store.query(terms.format("engagement_changes_folded"))[1] == store.query(
        terms.format("cover_changes('_all_days')"))[1]


def assert_folded_as_at_once(store: Store, state: str, *also: str) -> None:
    """The rows of `state` (sql/state/93-98) the folds wrote, pair by pair and in whatever
    order the events came, equal those computed at once from the rows before fold_mark: its
    macro run over those rows alone, with an empty folded table (and those of the states
    `also` it reads), by temp tables shadowing them."""
    (db,) = store.query("select current_database()")[1][0]
    folded = store.query(f"select * from {state}_folded order by all")
    store.query(f'create temp table learning_events as from "{db}".main.learning_events '
                "where stored_seq < fold_since()")
    for name in (state, *also):
        store.query(f'create temp table {name}_folded as from "{db}".main.{name}_folded '
                    "limit 0")
    try:
        at_once = store.query(f"select {', '.join(folded[0])} "
                              f"from {state}(-9223372036854775808) order by all")
    finally:
        store.query("drop table temp.main.learning_events")
        for name in (state, *also):
            store.query(f"drop table temp.main.{name}_folded")
    assert folded == at_once


def assert_dashboard_states_folded(store: Store) -> None:
    """The folded funnel days, ordered steps, course labels, learner weeks, learner
    activity and funnel pairs equal those computed at once (the funnel pairs from the events
    alone too, not from the folded funnel days)."""
    for state in ("funnel_days", "ordered_steps", "course_labels", "learner_weeks",
                  "learner_activity"):
        assert_folded_as_at_once(store, state)
    assert_folded_as_at_once(store, "funnel_pairs", "funnel_days")
    # Some completions are undone later inside the run: not every "until" is 'infinity'.
    assert store.query("select count(*) filter (where lesson_until < 'infinity'::date) > 0 "
                       "or count(*) = 0 from funnel_days_folded")[1] == [(True,)]


async def post_lanes(base: str, ds: Sequence[Delivery], lanes: int = 8) -> list[int]:
    """POST every delivery, signed; several at once, but the copies of one event in order
    on one lane, so the first copy is the first stored, as the oracle assumes."""
    statuses: list[int] = []

    async def lane(http: aiohttp.ClientSession, mine: list[Delivery]) -> None:
        for d in mine:
            statuses.append((await post(http, base, d.source, d.body, **dict(d.headers)))[0])

    by_lane: list[list[Delivery]] = [[] for _ in range(lanes)]
    for d in ds:
        by_lane[zlib.crc32(identity(d).encode()) % lanes].append(d)
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(lane(http, mine) for mine in by_lane))
    return statuses


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value (list items under `[]`)."""
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in {prefix + k} | key_paths(v, f"{prefix}{k}.")}
    if isinstance(value, list):
        return {p for v in value for p in key_paths(v, f"{prefix}[].")}
    return set()
