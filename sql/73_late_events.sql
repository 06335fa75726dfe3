create or replace view late_events as
-- Data quality: events whose own time is more than a day before we received them (a
-- platform's backlog, a resend, a clock problem). They are stored normally; views that
-- look at recent days may change when they arrive.
-- Joined on event_uid with the delay as a join condition, then the earliest occurred_at
-- of the matching rows: that is the earliest of all the event's rows whenever any is late,
-- without grouping every learning event first.
select e.source, e.event_type, e.event_uid, min(l.occurred_at) as occurred_at, e.received_at,
       e.received_at - min(l.occurred_at) as delay
from raw_events e
join learning_events l
  on l.event_uid = e.event_uid and l.occurred_at < e.received_at - interval 1 day
group by e.source, e.event_type, e.event_uid, e.received_at;

comment on view late_events is
    'Learning events whose occurred_at is more than a day before received_at.';
comment on column late_events.event_type is 'The event string as sent.';
comment on column late_events.occurred_at is
    'The event''s own time: the earliest occurred_at of its learning rows.';
comment on column late_events.received_at is
    'When the receiver got the event (the stored, first copy).';
comment on column late_events.delay is 'received_at - occurred_at; always more than one day here.';
