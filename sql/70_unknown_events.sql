create or replace view unknown_events as
-- Kept events no decoder knows yet: in raw_events, but with no learning or commerce row
-- and no dead letter. Derived, so a `rebuild` after a decoder update empties it.
select r.source,
       coalesce(r.event_type, '(none)') as event_type,
       count(*) as events,
       min(r.received_at) as first_seen,
       max(r.received_at) as last_seen
from raw_events r
where not exists (select 1 from learning_events l where l.event_uid = r.event_uid)
  and not exists (select 1 from commerce_events c where c.event_uid = r.event_uid)
  and not exists (select 1 from dead_letters d
                  where d.kafka_partition = r.kafka_partition
                    and d.kafka_offset = r.kafka_offset)
group by all;

comment on view unknown_events is
    'Event types kept in raw_events that no decoder knows yet (not errors): count, first and last arrival.';
comment on column unknown_events.event_type is
    'The event string as sent (Eduzz `event`, Toolzz `event.slug`); (none) when the body had none.';
