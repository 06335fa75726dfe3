create or replace view snapshot_info as
-- Read in analytics.duckdb (the snapshot), this says how fresh it is: the counts and offsets
-- are exactly those at as_of, because the row and the copy are made under one lock. In the
-- consumer's own file, as_of is that of the last snapshot while the counts are live.
select s.as_of,
       epoch(current_timestamp - s.as_of) as age_seconds,
       (select count(*) from raw_events) as events,
       (select count(*) from learning_events) as learning_events,
       (select count(*) from commerce_events) as commerce_events,
       (select count(*) from dead_letters) as dead_letters,
       coalesce((select list({'topic': o.topic, 'partition': o.kafka_partition,
                               'next_offset': o.next_offset}
                              order by o.topic, o.kafka_partition)
                 from consumer_offsets o), []) as offsets
from snapshots s;

comment on view snapshot_info is
    'How fresh the snapshot is: when it was taken (as_of), its age when queried, what it holds (events, dead letters) and the next Kafka offset per partition it holds.';
comment on column snapshot_info.age_seconds is
    'Seconds from as_of to the start of the query: how old the data is.';
comment on column snapshot_info.offsets is
    'Per topic partition, the next offset to read: every message before it is in the snapshot.';
comment on column snapshot_info.as_of is
    'When the snapshot was taken (UTC): the moment the consumer copied its store.';
comment on column snapshot_info.events is
    'Distinct events stored (raw_events rows), known and unknown types alike.';
comment on column snapshot_info.learning_events is
    'Rows of learning_events (one per decoded learning event and course).';
comment on column snapshot_info.commerce_events is
    'Rows of commerce_events (sales, subscriptions, commissions, carts, tickets).';
comment on column snapshot_info.dead_letters is
    'Messages that could not be decoded (dead_letters rows).';
