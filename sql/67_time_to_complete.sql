create or replace view time_to_complete as
-- Learners whose course is completed now: days from their first activity on the course to
-- that completion.
with spans as (
    select course_key,
           epoch(course_completed_at - first_activity_at) / 86400 as days
    from learner_course_progress
    where course_completed
)
select course_key,
       count(*) as completed_learners,
       median(days) as median_days,
       quantile_cont(days, 0.9) as p90_days
from spans
group by all;

comment on view time_to_complete is
    'Per course: learners who completed it (current state) and the median and 90th percentile of days from their first activity to completion.';
