-- Messages that could not be decoded: never dropped, kept with the reason and raw bytes.
create table if not exists dead_letters (
    kafka_partition integer not null,
    kafka_offset    bigint not null,
    received_at     timestamptz not null,
    source          varchar not null,
    error_kind      varchar not null,
    error           varchar not null,
    body            blob not null
);
