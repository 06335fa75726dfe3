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
first_enrolments as (
    select learner_key, course_key, min(occurred_at) as t1
    from ev where action = 'enrolled' group by learner_key, course_key
),
enrolments as (  -- numbered: the join below is grouped by id, cheaper than by the two keys
    select row_number() over () as id, *, hash(learner_key, course_key) as pair,
           t1 + to_days(window_days::integer) as closes
    from first_enrolments
),
-- Each enrolment joined with its learner's events on the course inside its window. Every
-- event that can make a step (a lesson or course completion is itself a start) is active
-- and not an enrolment, so only those are probed. Which steps are reached then needs no
-- lists: a lesson completion in the window is never before the start (it is one), so step 3
-- is the first of them; step 4 is reached when the last course completion in the window is
-- at or after step 3. The join is on one hash of the two keys, much cheaper to probe 10M
-- events with than the two strings; a row of another pair with the same hash is ignored
-- (`same`), so the answer stays exact. That check must stay out of the join's condition,
-- where DuckDB would hash the two strings again.
windowed as (
    select id,
           bool_or(same) as started,
           min(occurred_at) filter (where same and action = 'lesson_completed') as t3,
           max(occurred_at) filter (where same and action = 'course_completed') as last_course
    from (select s.id, e.action, e.occurred_at,
                 e.learner_key = s.learner_key and e.course_key = s.course_key as same
          from enrolments s
          join (select *, hash(learner_key, course_key) as pair from ev
                where action not in ('enrolled', 'inactivity_flagged')) e
            on e.pair = s.pair and e.occurred_at between s.t1 and s.closes)
    group by id
),
reached as (  -- every enrolment, also those with no event probed in its window
    select s.course_key, s.closes > as_of::timestamptz as open,
           coalesce(w.started, false) as r2, w.t3 is not null as r3,
           coalesce(w.last_course >= w.t3, false) as r4
    from enrolments s left join windowed w using (id)
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
