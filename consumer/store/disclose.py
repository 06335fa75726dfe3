"""What the store holds about one person (LGPD Art. 18: confirmation and access), found as
`forget` would find them (store/erase.py), read from the snapshot."""

from __future__ import annotations

from typing import Any

import duckdb

from consumer.store.erase import find, named

# (section, query): every row naming them, their current state per course, their purchases.
SECTIONS = (
    ("identities", "select distinct identity from _who order by 1"),
    ("learning_events", f"select * exclude (stored_seq) from learning_events where "
                        f"event_uid in (select event_uid from _uids) or {named('learning')} "
                        "order by occurred_at, kafka_partition, kafka_offset"),
    ("current_state", """select * from learner_course_state where learner_key in (
                             select learner_key from learning_events
                             where event_uid in (select event_uid from _uids))
                         order by course_key"""),
    ("purchases", f"select * exclude (stored_seq) from commerce_events where event_uid in "
                  f"(select event_uid from _uids) or {named('commerce')} order by occurred_at"),
    ("raw_events", "select * from raw_events where event_uid in (select event_uid from _uids) "
                   "order by received_at"),
    ("dead_letters", "select * replace (decode(body) as body) from dead_letters where "
                     "{letters} order by received_at"),
    ("conflicting_deliveries", "select * from conflicting_deliveries where event_uid in "
                               "(select event_uid from _uids) or {bodies} order by received_at"),
)


def disclose(con: duckdb.DuckDBPyConnection, identities: list[str]
             ) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Per section: (column names, rows) of everything held about the person known by
    `identities` (typed, consumer/sources/personal.py)."""
    pattern = find(con, [identities])
    out = {}
    for name, sql in SECTIONS:
        sql = sql.format(letters="regexp_matches(decode(body), $1)" if pattern else "false",
                         bodies="regexp_matches(body::varchar, $1)" if pattern else "false")
        cur = con.execute(sql, [pattern] if "$1" in sql else [])
        out[name] = ([d[0] for d in cur.description], cur.fetchall())
    for view in ("_who_keys", "_who_ids"):
        con.execute(f"drop view {view}")
    for table in ("_who", "_uids"):
        con.execute(f"drop table {table}")
    return out
