create or replace view freshness as
-- Data quality per source and event type: volume, latest arrival and latest event time,
-- and the share of messages that became dead letters. A source with dead letters only has
-- no row here; pipeline_health lists it.
with arrivals as (
    select source, coalesce(event_type, '(none)') as event_type, count(*) as events,
           max(received_at) as last_received_at, max(sent_at) as last_sent_at
    from raw_events
    group by all
),
letters as (
    select source, count(*) as dead_letters from dead_letters group by all
)
select a.source, a.event_type, a.events, a.last_received_at, a.last_sent_at,
       coalesce(l.dead_letters, 0) as source_dead_letters,
       coalesce(l.dead_letters, 0)
           / (sum(a.events) over (partition by a.source) + coalesce(l.dead_letters, 0))
           as source_dead_letter_rate
from arrivals a
left join letters l using (source);

comment on view freshness is
    'Per source and event type: events stored, latest arrival and latest sentDate; and per source the dead letters and their share of all messages.';
comment on column freshness.source_dead_letter_rate is
    'dead letters / (stored events + dead letters) of the whole source.';
