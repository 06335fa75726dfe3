create or replace view conflicting_duplicates as
-- One row per differing redelivery, beside the first write that won.
select c.event_uid,
       c.source,
       r.event_type,
       r.received_at as first_received_at,
       c.received_at as received_at,
       r.body as first_body,
       c.body as body,
       c.kafka_partition,
       c.kafka_offset
from conflicting_deliveries c
join raw_events r using (event_uid);

comment on view conflicting_duplicates is
    'Deliveries that reused a stored event_uid with a different body (sentDate aside). The first write won and is what every table holds; these copies were not applied.';
comment on column conflicting_duplicates.first_body is 'The body that was stored (first write wins).';
comment on column conflicting_duplicates.body is 'The later, different body, kept only here.';
comment on column conflicting_duplicates.event_type is
    'The event string of the stored (first) body.';
comment on column conflicting_duplicates.first_received_at is
    'When the receiver got the copy that was stored.';
comment on column conflicting_duplicates.received_at is
    'When the receiver got this differing copy.';
comment on column conflicting_duplicates.kafka_partition is
    'Kafka partition of this differing copy.';
comment on column conflicting_duplicates.kafka_offset is 'Kafka offset of this differing copy.';
