create or replace macro course_funnel_days(first_day, last_day) as table
-- course_funnel_between over whole calendar days (America/Sao_Paulo), first_day to last_day
-- both included: the same answer as course_funnel_between(start of first_day, start of the
-- day after last_day) in that zone, read from the folded funnel_days (one row per learner,
-- course and day) instead of grouping every event of the range. A completion in the range
-- counts unless an uncompletion of its item follows it inside the range, i.e. unless the
-- day of its next uncompletion is at most last_day: a learner completed a lesson (module,
-- course) in the range iff one of their days in it keeps a completion until after last_day.
with per_learner as (
    select course_key, learner_key, bit_or(steps) as steps,
           bool_or(lesson_until > last_day::date) as lesson,
           bool_or(module_until > last_day::date) as module,
           bool_or(course_until > last_day::date) as course
    from funnel_days(fold_since())
    where day between first_day::date and last_day::date
    group by all
)
select course_key,
       count(*) as learners,
       count(*) filter (where steps & 1 = 1) as enrolled,
       count(*) filter (where steps & 2 = 2) as started,
       count(*) filter (where lesson) as completed_lesson,
       count(*) filter (where module) as completed_module,
       count(*) filter (where course) as completed_course
from per_learner
group by all;

comment on macro table course_funnel_days is
    'course_funnel_days(first_day, last_day): course_funnel_between over the calendar days (America/Sao_Paulo) first_day to last_day, both included, read from the folded funnel state.';
