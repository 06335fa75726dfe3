-- Redeliveries of a stored event_uid whose body differs (sentDate aside): the first write
-- wins in raw_events, and each differing copy is kept here, whole, for inspection.
create table if not exists conflicting_deliveries (
    event_uid       varchar not null,
    source          varchar not null,
    event_type      varchar,
    received_at     timestamptz not null,
    sent_at         timestamptz,
    body            json not null,
    kafka_partition integer not null,
    kafka_offset    bigint not null
);
