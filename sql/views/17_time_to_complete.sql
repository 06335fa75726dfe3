create or replace view time_to_complete as
-- Learners whose course is completed now, from course_state (one row per learner and course,
-- with the first active event and the latest course completion): days from one to the other.
-- A course completion is itself an active event, so first_activity_at is never null here.
with spans as (
    select course_key, epoch(completed_at - first_activity_at) / 86400 as days
    from course_state(fold_since())
    where done
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
