create or replace macro at_risk(as_of, min_days) as table
-- at_risk_learners for any moment and threshold: the state as it was at `as_of` (events
-- after it do not count), each learner's latest activity per course taken first, then
-- filtered, so an old event never hides a newer one.
with ev as (
    select * from learning_events
    where occurred_at <= as_of::timestamptz
      and learner_key is not null and course_key is not null
),
last_activity as (
    select learner_key, course_key,
           max(occurred_at) filter (where action <> 'inactivity_flagged') as last_activity_at,
           coalesce(arg_max(action = 'course_completed',
                            event_order(occurred_at, kafka_partition, kafka_offset))
                        filter (where action in ('course_completed', 'course_uncompleted')),
                    false) as course_completed
    from ev
    group by all
)
select learner_key, course_key, last_activity_at,
       floor(epoch(as_of::timestamptz - last_activity_at) / 86400)::integer as days_inactive
from last_activity
where not course_completed
  and last_activity_at <= as_of::timestamptz - to_days(min_days::integer);

comment on macro table at_risk is
    'at_risk(as_of, min_days): learners who had not completed the course at as_of and whose last activity on it was at least min_days before as_of.';
