-- The next offset to read per topic partition, written in the same transaction as the rows.
create table if not exists consumer_offsets (
    topic          varchar not null,
    kafka_partition integer not null,
    next_offset    bigint not null,
    updated_at     timestamptz not null,
    primary key (topic, kafka_partition)
);
