create or replace macro ordered_funnel(window_days, as_of) as table
-- Ordered funnel in the style of product-analytics tools, per course: enrolled, then
-- started (an active event other than enrolled), then a lesson completed, then the course
-- completed, each step at or after the previous one and within window_days of enrolling.
-- Event-based (the first time each step happened), unlike course_funnel's current state.
-- A learner stuck at a step whose window is still open at as_of is in_window, not dropped.
-- Read from ordered_steps (sql/state/94: per enrolled learner and course, the first time
-- each step happened in order, folded by the consumer): a step is reached when it happened
-- no later than the window's close and as_of (both inclusive). A lesson completion is itself
-- a start, so step 3 needs no separate check of step 2.
with reached as (
    select course_key,
           enrolled_at + to_days(window_days::integer) > as_of::timestamptz as open,
           coalesce(started_at <= least(enrolled_at + to_days(window_days::integer),
                                        as_of::timestamptz), false) as r2,
           coalesce(lesson_at <= least(enrolled_at + to_days(window_days::integer),
                                       as_of::timestamptz), false) as r3,
           coalesce(course_at <= least(enrolled_at + to_days(window_days::integer),
                                       as_of::timestamptz), false) as r4
    from ordered_steps(fold_since())
    where enrolled_at <= as_of::timestamptz
),
per_course as (
    select course_key,
           count(*) as r1, count(*) filter (where r2) as r2, count(*) filter (where r3) as r3,
           count(*) filter (where r4) as r4,
           count(*) filter (where not r2 and open) as w2,
           count(*) filter (where not r2 and not open) as d2,
           count(*) filter (where r2 and not r3 and open) as w3,
           count(*) filter (where r2 and not r3 and not open) as d3,
           count(*) filter (where r3 and not r4 and open) as w4,
           count(*) filter (where r3 and not r4 and not open) as d4
    from reached group by all
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
