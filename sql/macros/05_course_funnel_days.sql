create or replace macro course_funnel_days(first_day, last_day) as table
-- course_funnel_between over whole calendar days (America/Sao_Paulo), first_day to last_day
-- both included: the same answer as course_funnel_between(start of first_day, start of the
-- day after last_day) in that zone, read from the folded funnel days of each learner and
-- course (funnel_pairs, sql/state/97: one row per learner and course, its days as lists)
-- instead of grouping every event, or every learner-day, of the range. A completion in the
-- range counts unless an uncompletion of its item follows it inside the range, i.e. unless
-- the day of its next uncompletion is at most last_day: a learner completed a lesson
-- (module, course) in the range iff one of their days in it keeps a completion until after
-- last_day.
with per_learner as (
    select course_key,
           len(list_filter(enrolled, lambda d: d between first_day::date and last_day::date))
               > 0 as enrolled,
           len(list_filter(started, lambda d: d between first_day::date and last_day::date))
               > 0 as started,
           len(list_filter(lesson, lambda c: c.day between first_day::date and last_day::date
                                              and c.until > last_day::date)) > 0 as lesson,
           len(list_filter(module, lambda c: c.day between first_day::date and last_day::date
                                              and c.until > last_day::date)) > 0 as module,
           len(list_filter(course, lambda c: c.day between first_day::date and last_day::date
                                              and c.until > last_day::date)) > 0 as course
    from funnel_pairs(fold_since())
    -- a learner with an event of the course in the range (every step above implies one)
    where len(list_filter(days, lambda d: d between first_day::date and last_day::date)) > 0
)
select course_key,
       count(*) as learners,
       count(*) filter (where enrolled) as enrolled,
       count(*) filter (where started) as started,
       count(*) filter (where lesson) as completed_lesson,
       count(*) filter (where module) as completed_module,
       count(*) filter (where course) as completed_course
from per_learner
group by all;

comment on macro table course_funnel_days is
    'course_funnel_days(first_day, last_day): course_funnel_between over the calendar days (America/Sao_Paulo) first_day to last_day, both included, read from the folded funnel state of each learner and course.';
