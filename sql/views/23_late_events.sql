create or replace view late_events as
-- Data quality: events whose own time is more than a day before we received them (a
-- platform's backlog, a resend, a clock problem). They are stored normally; views that
-- look at recent days may change when they arrive.
-- Read from learning_events alone: each row carries its event's received_at, and the
-- source is the event_uid's prefix, so no join with raw_events is needed. Any row earlier
-- than a late row is late too, so the earliest late row is the event's earliest row.
select split_part(event_uid, ':', 1) as source, event_type, event_uid,
       min(occurred_at) as occurred_at, received_at, received_at - min(occurred_at) as delay
from learning_events
where occurred_at < received_at - interval 1 day
group by event_uid, event_type, received_at;

comment on view late_events is
    'Learning events whose occurred_at is more than a day before received_at.';
comment on column late_events.event_type is 'The event string as sent.';
comment on column late_events.occurred_at is
    'The event''s own time: the earliest occurred_at of its learning rows.';
comment on column late_events.received_at is
    'When the receiver got the event (the stored, first copy).';
comment on column late_events.delay is 'received_at - occurred_at; always more than one day here.';
