create or replace view time_to_complete as
-- Learners whose course is completed now: days from their first activity on the course to
-- that completion. The state comes from the course events alone (a few per learner), and
-- first activity is looked up only for the learners who completed.
with completed as (
    select learner_key, course_key,
           max(occurred_at) filter (where action = 'course_completed') as completed_at
    from learning_events
    where learner_key is not null and course_key is not null
      and action in ('course_completed', 'course_uncompleted')
    group by all
    having arg_max(action = 'course_completed',
                   event_order(occurred_at, kafka_partition, kafka_offset))
),
first_activity as (
    select e.learner_key, e.course_key, min(e.occurred_at) as first_activity_at
    from learning_events e
    semi join completed c using (learner_key, course_key)
    where e.action <> 'inactivity_flagged'
    group by all
),
spans as (
    select c.course_key,
           epoch(c.completed_at - f.first_activity_at) / 86400 as days
    from completed c
    join first_activity f using (learner_key, course_key)
)
select course_key,
       count(*) as completed_learners,
       median(days) as median_days,
       quantile_cont(days, 0.9) as p90_days
from spans
group by all;

comment on view time_to_complete is
    'Per course: learners who completed it (current state) and the median and 90th percentile of days from their first activity to completion.';
comment on column time_to_complete.completed_learners is
    'Learners whose course is completed now (latest course_completed/course_uncompleted event is a completion).';
comment on column time_to_complete.median_days is
    'Median of the days (fractional) from first activity on the course to the latest course completion.';
comment on column time_to_complete.p90_days is '90th percentile (interpolated) of the same days.';
