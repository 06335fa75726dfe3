-- The lossless record: one row per distinct event_uid, body exactly as received.
create table if not exists raw_events (
    event_uid       varchar primary key,
    source          varchar not null,
    event_type      varchar,
    received_at     timestamptz not null,
    sent_at         timestamptz,
    body            json not null,
    kafka_partition integer not null,
    kafka_offset    bigint not null
);
