create or replace view at_risk_learners as
-- Aggregate first (each learner's latest activity per course and the current state of the
-- course), then filter: filtering events first would report a learner inactive on the
-- strength of an old event while a newer one exists. The same answer as reading
-- learner_course_progress, without the lesson and module state it does not need.
with newest as (
    select max(occurred_at) as newest from learning_events
),
per_learner as (
    select learner_key, course_key,
           max(occurred_at) filter (where action <> 'inactivity_flagged') as last_activity_at,
           coalesce(arg_max(action = 'course_completed',
                            event_order(occurred_at, kafka_partition, kafka_offset))
                        filter (where action in ('course_completed', 'course_uncompleted')),
                    false) as course_completed
    from learning_events
    where learner_key is not null and course_key is not null
    group by all
)
select p.learner_key,
       p.course_key,
       p.last_activity_at,
       floor(epoch(n.newest - p.last_activity_at) / 86400)::integer as days_inactive
from per_learner p
cross join newest n
where not p.course_completed
  and p.last_activity_at < n.newest - interval 7 day;

comment on view at_risk_learners is
    'Learners who have not completed the course now and whose last activity on it is more than 7 days before the newest event in the store.';
comment on column at_risk_learners.days_inactive is
    'Whole days from the last activity to the newest event in the store (not to now: a paused feed does not inflate it).';
comment on column at_risk_learners.last_activity_at is
    'Latest occurred_at of an active event on the course (any learning event but inactivity_flagged).';
