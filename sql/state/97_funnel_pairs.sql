-- grain: learner_key, course_key
-- erased by: learners
-- Exact if a fold read only the pending learners' rows (State.scoped in
-- consumer/store/state.py), but not so marked: funnel_pairs_touched reads one folded row
-- per pending pair by a join already, and at 10M a copy cost 0.05 s of a fold of 50,000
-- where the staging it spared cost 0.01 s.
-- One current state: funnel_pairs_folded (as of the last fold) and the macro
-- funnel_pairs(since) that merges the events not folded yet into it; the macro
-- course_funnel_days (sql/macros/05) reads the table and, for the pending events, the days
-- funnel_days(since) changed (cheaper than this macro's lists). The grain above is read by
-- consumer/store/state.py, which folds, refolds and erases (the touched learners' rows)
-- every state alike; a fold reads funnel_pairs_touched(since), the rows of
-- funnel_pairs(since) but the untouched folded ones (which it would drop).
-- Each learner and course's funnel days (sql/state/93) as lists in one row: a range of days
-- is then a pass over one row per learner and course (400k at 10M events) instead of
-- grouping every learner-day of the range by learner and course (3.4M rows for 90 days,
-- 1.0-1.6 s at 10M). The lists hold what course_funnel_days asks of a day: whether it falls
-- in the range, its steps, and per kind of completion the day it stays done until.
create table if not exists funnel_pairs_folded (
    learner_key varchar not null,
    course_key  varchar not null,
    days        date[] not null,  -- calendar days (America/Sao_Paulo) with an event of
                                  -- the pair, inactivity_flagged included, ascending
    enrolled    date[] not null,  -- those with an enrolment (steps bit 1)
    started     date[] not null,  -- those with any other event but inactivity_flagged (bit 2)
    -- the days with a lesson (module, course) completion of a named item, each with the day
    -- up to which one of them stays done (funnel_days' *_until), ascending by day
    lesson      struct("day" date, "until" date)[] not null,
    module      struct("day" date, "until" date)[] not null,
    course      struct("day" date, "until" date)[] not null
);

comment on table funnel_pairs_folded is
    'Internal: per learner and course, the calendar days (America/Sao_Paulo) of its funnel days, those with an enrolment and with a start, and those with each kind of completion with the day it stays done until, as ascending lists, as of the last fold; read it through course_funnel_days.';

create or replace macro funnel_pairs_touched(since) as table
-- The learners and courses with learning events stored from stored_seq `since` on
-- (fold_since(): those not folded yet), their folded lists with the days funnel_days(since)
-- changed (`unfolded`) put in place of those days: a changed day replaces its folded entry
-- in each list (its steps only add and its until days are recomputed), the other entries
-- stay. One folded row per pair is read (36k of 400k with 50,000 pending at 10M), where
-- gathering the pairs' other days again from the folded funnel days read all 3.4M of them
-- (0.19 CPU s of a fold). During a fold, funnel_days(since) reads the rows the fold staged
-- for funnel_days_folded (consumer/store/state.py shadows it), so the pending events are
-- merged once for both states. All `unfolded`: a fold writes them back.
with changed as (
    select learner_key, course_key,
           list(day order by day) as days,
           coalesce(list(day order by day) filter (where steps & 1 = 1), []) as enrolled,
           coalesce(list(day order by day) filter (where steps & 2 = 2), []) as started,
           coalesce(list({'day': day, 'until': lesson_until} order by day)
                    filter (where lesson_until is not null), []) as lesson,
           coalesce(list({'day': day, 'until': module_until} order by day)
                    filter (where module_until is not null), []) as module,
           coalesce(list({'day': day, 'until': course_until} order by day)
                    filter (where course_until is not null), []) as course
    from funnel_days(since)
    where unfolded
    group by learner_key, course_key
)
select c.learner_key, c.course_key,
       put_days(f.days, c.days, c.days) as days,
       put_days(f.enrolled, c.days, c.enrolled) as enrolled,
       put_days(f.started, c.days, c.started) as started,
       put_entries(f.lesson, c.days, c.lesson) as lesson,
       put_entries(f.module, c.days, c.module) as module,
       put_entries(f.course, c.days, c.course) as course,
       true as unfolded
from changed c
left join funnel_pairs_folded f on f.learner_key = c.learner_key and f.course_key = c.course_key;

comment on macro table funnel_pairs_touched is
    'funnel_pairs_touched(since): the rows of funnel_pairs(since) of the learners and courses with learning events stored from stored_seq `since` on: their folded lists with the days those events changed put in.';

create or replace macro funnel_pairs(since) as table
-- The folded pairs, but those with learning events stored from stored_seq `since` on
-- (fold_since(): those not folded yet), which are funnel_pairs_touched(since). A limit of 0
-- ends a scan: with nothing pending only the first part reads anything, with some the first
-- reads nothing.
with pending as (
    select learner_key, course_key
    from learning_events
    where stored_seq >= since and learner_key is not null and course_key is not null
),
gate as materialized (  -- how many rows each part may read: all or none (rows_if)
    select rows_if(count(*) = 0) as idle, rows_if(count(*) > 0) as busy
    from learning_events where stored_seq >= since
)
select *, false as unfolded
from (select * from funnel_pairs_folded limit (select idle from gate))
union all by name
select f.*, false as unfolded
from (select * from funnel_pairs_folded limit (select busy from gate)) f
anti join pending p on f.learner_key = p.learner_key and f.course_key = p.course_key
union all by name
select * from funnel_pairs_touched(since);

comment on macro table funnel_pairs is
    'funnel_pairs(since): per learner and course, its funnel days as lists (days, enrolled, started, and the lesson, module and course completions with the day each stays done until): the folded state, with the pairs that have learning events stored from stored_seq `since` on gathered again (fold_since() at read time).';
