create or replace view late_events as
-- Data quality: events whose own time is more than a day before we received them (a
-- platform's backlog, a resend, a clock problem). They are stored normally; views that
-- look at recent days may change when they arrive.
select e.source, e.event_type, e.event_uid, l.occurred_at, e.received_at,
       e.received_at - l.occurred_at as delay
from raw_events e
join (select event_uid, min(occurred_at) as occurred_at from learning_events group by all) l
  using (event_uid)
where l.occurred_at < e.received_at - interval 1 day;

comment on view late_events is
    'Learning events whose occurred_at is more than a day before received_at.';
