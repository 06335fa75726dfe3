-- The next offset to read per topic partition, written in the same transaction as the rows,
-- with the fingerprint (SHA-256) of the record before it: a stored offset only means
-- something in the log it came from, and that record proves which log it is.
create table if not exists consumer_offsets (
    topic            varchar not null,
    kafka_partition  integer not null,
    next_offset      bigint not null,
    updated_at       timestamptz not null,
    last_fingerprint varchar,
    primary key (topic, kafka_partition)
);

alter table consumer_offsets add column if not exists last_fingerprint varchar;
