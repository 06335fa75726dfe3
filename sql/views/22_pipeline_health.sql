create or replace view pipeline_health as
-- One aggregate per table and source, joined: no per-source subquery over whole tables.
with stored as (
    select source, count(*) as events, max(received_at) as last_received_at
    from raw_events
    group by all
),
letters as (
    select source, count(*) as dead_letters from dead_letters group by all
),
unknown as (
    select source, sum(events) as events from unknown_events group by all
),
sources as (
    select source from stored union select source from letters
)
select s.source,
       coalesce(r.events, 0) as events,
       r.last_received_at,
       coalesce(l.dead_letters, 0) as dead_letters,
       coalesce(u.events, 0) as unknown_events
from sources s
left join stored r using (source)
left join letters l using (source)
left join unknown u using (source);

comment on view pipeline_health is
    'One row per source: distinct events stored, the latest arrival, dead letters and events of unknown types.';
comment on column pipeline_health.events is
    'Distinct events stored (raw_events rows) of the source.';
comment on column pipeline_health.last_received_at is
    'Latest arrival at the receiver of a stored event; null for a source with dead letters only.';
comment on column pipeline_health.dead_letters is 'dead_letters rows of the source.';
comment on column pipeline_health.unknown_events is
    'Stored events of the source that no decoder knows (see unknown_events).';
