create or replace view freshness as
-- Data quality per source and event type: volume, latest arrival and latest event time,
-- the share of messages that became dead letters and the share that were redeliveries. A
-- source with dead letters only has no row here; pipeline_health lists it.
with arrivals as (
    select source, coalesce(event_type, '(none)') as event_type, count(*) as events,
           max(received_at) as last_received_at, max(sent_at) as last_sent_at
    from raw_events
    group by all
),
letters as (
    select source, count(*) as dead_letters from dead_letters group by all
),
redelivered as (
    select source, rate from duplicate_rate where day is null  -- its all-time row
)
select a.source, a.event_type, a.events, a.last_received_at, a.last_sent_at,
       coalesce(l.dead_letters, 0) as source_dead_letters,
       coalesce(l.dead_letters, 0)
           / (sum(a.events) over (partition by a.source) + coalesce(l.dead_letters, 0))
           as source_dead_letter_rate,
       r.rate as source_duplicate_rate
from arrivals a
left join letters l using (source)
left join redelivered r using (source);

comment on view freshness is
    'Per source and event type: events stored, latest arrival and latest sentDate; and per source the dead letters and their share of all messages, and the share of deliveries that were duplicates.';
comment on column freshness.source_dead_letter_rate is
    'dead letters / (stored events + dead letters) of the whole source.';
comment on column freshness.source_duplicate_rate is
    'duplicates / deliveries of the whole source, as counted per batch by the consumer (duplicate_rate); null before any batch was counted.';
comment on column freshness.event_type is
    'The event string as sent; (none) when the body had none.';
comment on column freshness.events is
    'Distinct events stored (raw_events rows) of this source and type.';
comment on column freshness.last_received_at is
    'Latest arrival at the receiver of this source and type.';
comment on column freshness.last_sent_at is
    'Latest sent_at (the platform''s own send time) of this source and type; null when no body carried one.';
comment on column freshness.source_dead_letters is
    'Dead letters of the whole source (all event types), repeated on each of its rows.';
