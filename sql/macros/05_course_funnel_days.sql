create or replace macro course_funnel_days(first_day, last_day) as table
-- course_funnel_between over whole calendar days (America/Sao_Paulo), first_day to last_day
-- both included: the same answer as course_funnel_between(start of first_day, start of the
-- day after last_day) in that zone, read from the folded funnel days of each learner and
-- course (funnel_pairs_folded, sql/state/97: one row per learner and course, its days as
-- lists) instead of grouping every event, or every learner-day, of the range. A completion
-- in the range counts unless an uncompletion of its item follows it inside the range, i.e.
-- unless the day of its next uncompletion is at most last_day: a learner completed a lesson
-- (module, course) in the range iff one of their days in it keeps a completion until after
-- last_day.
-- The days the events not folded yet changed (funnel_days(fold_since()) where unfolded)
-- replace the folded ones of that day: a pair's step is its changed days' or its other
-- folded days'. Not funnel_pairs(fold_since()), which builds the touched pairs' lists from
-- all their folded days (a second join with the 3.4M folded days at 10M, 2.1 s with 50,000
-- pending against 0.93 s when this grouped learner-days).
with changed as (
    select learner_key, course_key, day, steps, lesson_until, module_until, course_until
    from funnel_days(fold_since())
    where unfolded
),
touched as materialized (  -- per pair with pending events, its changed days and their steps
    select learner_key, course_key,
           list(day) as changed,  -- every changed day, in the range or not
           bool_or(day between first_day::date and last_day::date) as active,
           bool_or(day between first_day::date and last_day::date and steps & 1 = 1)
               as enrolled,
           bool_or(day between first_day::date and last_day::date and steps & 2 = 2)
               as started,
           bool_or(day between first_day::date and last_day::date
                   and lesson_until > last_day::date) as lesson,
           bool_or(day between first_day::date and last_day::date
                   and module_until > last_day::date) as module,
           bool_or(day between first_day::date and last_day::date
                   and course_until > last_day::date) as course
    from changed
    group by learner_key, course_key
),
gate as materialized (  -- how many rows each read of the folded pairs below may take:
    -- all or none (rows_if). With nothing pending they are counted as they are: the anti
    -- join would build a hash table of the 400k folded pairs at 10M (DuckDB guesses
    -- millions of touched ones), 0.30 s against 0.14
    select rows_if(count(*) = 0) as idle, rows_if(count(*) > 0) as busy
    from touched
),
folded as not materialized (
    select learner_key, course_key,
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
    from funnel_pairs_folded
    -- a learner with an event of the course in the range (every step above implies one)
    where len(list_filter(days, lambda d: d between first_day::date and last_day::date)) > 0
),
per_learner as (
    select course_key, enrolled, started, lesson, module, course
    from (select * from folded limit (select idle from gate))
    union all
    select f.course_key, f.enrolled, f.started, f.lesson, f.module, f.course
    from (select * from folded limit (select busy from gate)) f
    anti join touched t on f.learner_key = t.learner_key and f.course_key = t.course_key
    union all
    -- the touched pairs: their changed days, or their folded days but the changed ones (a
    -- pair new to the fold has none)
    select t.course_key,
           t.enrolled or coalesce(len(list_filter(f.enrolled, lambda d:
               d between first_day::date and last_day::date
               and not list_contains(t.changed, d))) > 0, false),
           t.started or coalesce(len(list_filter(f.started, lambda d:
               d between first_day::date and last_day::date
               and not list_contains(t.changed, d))) > 0, false),
           t.lesson or coalesce(len(list_filter(f.lesson, lambda c:
               c.day between first_day::date and last_day::date
               and c.until > last_day::date and not list_contains(t.changed, c.day))) > 0,
               false),
           t.module or coalesce(len(list_filter(f.module, lambda c:
               c.day between first_day::date and last_day::date
               and c.until > last_day::date and not list_contains(t.changed, c.day))) > 0,
               false),
           t.course or coalesce(len(list_filter(f.course, lambda c:
               c.day between first_day::date and last_day::date
               and c.until > last_day::date and not list_contains(t.changed, c.day))) > 0,
               false)
    from touched t
    left join (  -- the touched pairs' folded rows, marked by an IN: a mark join builds its
                 -- hash table on the touched keys, where a join with all the folded pairs,
                 -- DuckDB guessing millions of touched ones, builds it on the 400k folded
                 -- pairs' lists (0.16 s against 0.05 at 10M)
        select * from (
            select *, {'l': learner_key, 'c': course_key}
                          in (select {'l': learner_key, 'c': course_key} from touched) as hit
            from funnel_pairs_folded limit (select busy from gate))
        where hit
    ) f
      on f.learner_key = t.learner_key and f.course_key = t.course_key
    where t.active
       or coalesce(len(list_filter(f.days, lambda d:
              d between first_day::date and last_day::date
              and not list_contains(t.changed, d))) > 0, false)
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
    'course_funnel_days(first_day, last_day): course_funnel_between over the calendar days (America/Sao_Paulo) first_day to last_day, both included, read from the folded funnel state of each learner and course, with the days the events not folded yet changed.';
