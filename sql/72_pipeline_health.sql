create or replace view pipeline_health as
with sources as (
    select source from raw_events union select source from dead_letters
)
select s.source,
       (select count(*) from raw_events r where r.source = s.source) as events,
       (select max(received_at) from raw_events r where r.source = s.source)
           as last_received_at,
       (select count(*) from dead_letters d where d.source = s.source) as dead_letters,
       (select coalesce(sum(u.events), 0) from unknown_events u where u.source = s.source)
           as unknown_events
from sources s;

comment on view pipeline_health is
    'One row per source: distinct events stored, the latest arrival, dead letters and events of unknown types.';
