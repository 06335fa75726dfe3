create or replace macro ordered_funnel(window_days, as_of) as table
-- Ordered funnel in the style of product-analytics tools, per course: enrolled, then
-- started (an active event other than enrolled), then a lesson completed, then the course
-- completed, each step at or after the previous one and within window_days of enrolling.
-- Event-based (the first time each step happened), unlike course_funnel's current state.
-- A learner stuck at a step whose window is still open at as_of is in_window, not dropped.
with ev as not materialized (  -- read twice: filtering twice beats copying it
    select learner_key, course_key, action, occurred_at
    from learning_events
    where learner_key is not null and course_key is not null
      and occurred_at <= as_of::timestamptz
),
enrolments as (
    select learner_key, course_key, min(occurred_at) as t1
    from ev where action = 'enrolled' group by all
),
s1 as (
    select *, t1 + to_days(window_days::integer) as closes from enrolments
),
-- One join of each enrolment with its learner's events inside the window; each later step
-- is then the first time, at or after the step before, within those events.
windowed as (
    select s1.learner_key, s1.course_key, s1.t1, s1.closes,
           min(e.occurred_at) filter (where e.action not in ('enrolled', 'inactivity_flagged'))
               as t2,
           list(e.occurred_at) filter (where e.action = 'lesson_completed') as lessons,
           list(e.occurred_at) filter (where e.action = 'course_completed') as courses
    from s1 left join ev e
      on e.learner_key = s1.learner_key and e.course_key = s1.course_key
     and e.occurred_at between s1.t1 and s1.closes
    group by all
),
s3 as (
    select *, list_min(list_filter(lessons, lambda t: t >= t2)) as t3 from windowed
),
s4 as (
    select *, list_min(list_filter(courses, lambda t: t >= t3)) as t4 from s3
),
per_course as (
    select course_key,
           count(*) as r1, count(t2) as r2, count(t3) as r3, count(t4) as r4,
           count(*) filter (where t2 is null and closes > as_of::timestamptz) as w2,
           count(*) filter (where t2 is null and closes <= as_of::timestamptz) as d2,
           count(*) filter (where t2 is not null and t3 is null
                            and closes > as_of::timestamptz) as w3,
           count(*) filter (where t2 is not null and t3 is null
                            and closes <= as_of::timestamptz) as d3,
           count(*) filter (where t3 is not null and t4 is null
                            and closes > as_of::timestamptz) as w4,
           count(*) filter (where t3 is not null and t4 is null
                            and closes <= as_of::timestamptz) as d4
    from s4 group by all
),
steps as (
    select course_key, unnest([
        {'step_number': 1, 'step': 'enrolled', 'reached': r1, 'in_window': 0, 'dropped': 0},
        {'step_number': 2, 'step': 'started', 'reached': r2, 'in_window': w2, 'dropped': d2},
        {'step_number': 3, 'step': 'completed_lesson', 'reached': r3, 'in_window': w3,
         'dropped': d3},
        {'step_number': 4, 'step': 'completed_course', 'reached': r4, 'in_window': w4,
         'dropped': d4}], recursive := true)
    from per_course
)
select course_key, step_number, step, reached, in_window, dropped,
       reached / nullif(lag(reached) over (partition by course_key order by step_number), 0)
           as conversion
from steps;

comment on macro table ordered_funnel is
    'ordered_funnel(window_days, as_of): per course and step (enrolled, started, completed_lesson, completed_course), learners reaching it in order within window_days of enrolling; those still inside their window at as_of are in_window, not dropped.';
