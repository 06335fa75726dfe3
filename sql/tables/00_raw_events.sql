-- The lossless record: one row per distinct event_uid, body exactly as received.
create table if not exists raw_events (
    event_uid       varchar primary key,
    source          varchar not null,
    event_type      varchar,
    received_at     timestamptz not null,
    sent_at         timestamptz,
    -- VARCHAR, not JSON: DuckDB's JSON type parses every body again on insert, which made
    -- inserts 2.7x slower (README "Performance"); the JSON functions read VARCHAR alike, and
    -- the consumer stores only bodies msgspec decoded as JSON. Stores made with JSON are
    -- converted on start (consumer/store/schema.py).
    body            varchar not null,
    kafka_partition integer not null,
    kafka_offset    bigint not null
);
