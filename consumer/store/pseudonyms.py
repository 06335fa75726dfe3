"""A pseudonymized copy of a snapshot (README "Personal data (LGPD)", Art. 13 §4), for
`export --pseudonymize` and `sql --pseudonymize`.

Every table is copied into an in-memory database with e-mails, names, platform ids and
learner/buyer keys replaced by `p_` + 20 hex digits of HMAC-SHA256 under the pseudonym key
of `pseudonym:` + the typed identity (consumer/sources/personal.py): one person's key and
e-mail give one pseudonym; another key gives unlinkable ones. Bodies and free-text
comments are left out (NULL). The views and macros are then created over the copies from
sql/, so a query, however it is written, can only see pseudonyms: each view groups and joins
as before, since a pseudonym is as distinct as what it replaces.
"""

from __future__ import annotations

import duckdb

from consumer.sources.personal import hmac_pads
from consumer.store.schema import apply_schema

KEYS = "case when {c} like '%@%' then 'email:' else 'id:' end || {c}"
PERSONAL = {  # column -> the typed identity it holds
    "learner_key": KEYS.format(c="learner_key"),
    "buyer_key": KEYS.format(c="buyer_key"),
    "learner_email": "'email:' || learner_email",
    "learner_id": "'id:' || platform || ':' || learner_id",
    "learner_name": "'name:' || learner_name",
}
# Hashed apart from suppressed_people's hashes of the same identities: a pseudonym must not
# be matched against them.
DOMAIN = "pseudonym:"
LEFT_OUT = {"body", "first_body", "comment"}  # may name anyone, in any shape


def pseudonym_macro(key: bytes) -> str:
    """The SQL macro `pseudonym(identity)`: HMAC-SHA256 (RFC 2104, from sha256) under `key`."""
    inner, outer = hmac_pads(key)
    return (f"create or replace temp macro pseudonym(v) as 'p_' || left(sha256("
            f"unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode('{DOMAIN}' || v)))),"
            f" 20)")


def pseudonymized(path: str, key: bytes) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding the snapshot at `path` pseudonymized, with the views."""
    con = duckdb.connect()
    con.execute(pseudonym_macro(key))
    con.execute("attach $1 as snap (read_only)", [path])
    tables = con.execute("select table_name from duckdb_tables() where database_name = 'snap' "
                         "and schema_name = 'main' order by 1").fetchall()
    for (table,) in tables:
        columns = con.execute("select column_name, data_type from duckdb_columns() where "
                              "database_name = 'snap' and table_name = $1 order by column_index",
                              [table]).fetchall()
        names = {c for c, _ in columns}
        select = ", ".join(
            f"pseudonym({PERSONAL[c]}) as {c}" if c in PERSONAL and (
                c != "learner_id" or "platform" in names)
            else f"null::{t} as {c}" if c in LEFT_OUT else c for c, t in columns)
        con.execute(f'create table memory.main."{table}" as select {select} from snap."{table}"')
    con.execute("detach snap")
    apply_schema(con)  # the views and macros, over the copies
    return con
