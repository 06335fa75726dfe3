-- grain: learner_key, course_key, day
-- One current state: learner_days_folded (as of the last fold) and the macro
-- learner_days(since) that merges the events not folded yet into it; the view
-- learner_active_days (sql/views/09) reads it. The grain above is read by
-- consumer/store/state.py, which folds, refolds and erases every state alike.
-- a fold reads the pending learners' rows only
-- (consumer/store/state.py State.scoped): its macros read of learner_days_folded the days
-- the pending events touch (learner_days, where unfolded) and those of the learners with
-- pending events (learner_days_pending, sql/state/92).
-- Per learner, course and calendar day, the active events as of the last fold: the grouping
-- of every event that engagement_daily, engagement_daily_all and the learner activity
-- (sql/state/98) share (10M events grouped took 2.7 s per read; this table has one row per
-- learner, course and day, and a fold adds only the days of the rows it folds).
create table if not exists learner_days_folded (
    learner_key varchar not null,
    course_key  varchar,  -- null for events of no course, as in learner_active_days
    day         date not null,  -- calendar day in America/Sao_Paulo
    events      bigint not null
);

comment on table learner_days_folded is
    'Internal: per learner, course and calendar day (America/Sao_Paulo), the active events (any but inactivity_flagged) as of the last fold; read it through learner_active_days.';

-- A store made before this table had its rows before fold_since() folded already: they are
-- grouped into it once, here, when it is still empty (an empty table with folded active
-- events behind it can only be that store; otherwise nothing matches and nothing is added).
insert into learner_days_folded
select learner_key, course_key, cast(timezone('America/Sao_Paulo', occurred_at) as date),
       count(*)
from learning_events
where stored_seq < fold_since() and learner_key is not null and action <> 'inactivity_flagged'
  and (select count(*) = 0 from learner_days_folded)
group by all;

create or replace macro learner_days(since) as table
-- Active events per learner, course and day (README, What lands in DuckDB): the folded table
-- plus the learning events stored from stored_seq `since` on (fold_since(): those not folded
-- yet), so readers see every event whatever was folded when. Counts add up, so arrival
-- order does not matter. `unfolded` marks the days those events touched: a fold writes
-- those rows back.
with new as (
    select learner_key, course_key,
           cast(timezone('America/Sao_Paulo', occurred_at) as date) as day,
           count(*) as events
    from learning_events
    where stored_seq >= since and learner_key is not null and action <> 'inactivity_flagged'
    group by all
)
select coalesce(n.learner_key, f.learner_key) as learner_key,
       coalesce(n.course_key, f.course_key) as course_key,
       coalesce(n.day, f.day) as day,
       coalesce(f.events, 0) + coalesce(n.events, 0) as events,
       n.learner_key is not null as unfolded
from learner_days_folded f
full join new n
  on f.learner_key = n.learner_key and f.course_key is not distinct from n.course_key
 and f.day = n.day;

comment on macro table learner_days is
    'learner_days(since): active events per learner, course and calendar day (America/Sao_Paulo): the folded state plus the learning events stored from stored_seq `since` on (fold_since() at read time).';

create or replace view learner_days_pending as
-- The learner days that the events not folded yet change, for engagement_changes: of each
-- learner with such an event (on a course), their days as folded (sign -1) and with those
-- events added (sign +1), so the cover terms of the first can be taken back and those of
-- the second added. Only the folded days within 30 days of one of the learner's pending
-- days (of any course): a day's terms depend on the day and its next day capped at 30
-- days, so the terms of every other day are the same in both and cancel, and those of a
-- pending day, or of a day before one, see every day they depend on. Live, pending events
-- are of the last days, so this reads a month of each touched learner; late or replayed
-- events of long ago read the days around them, not the whole history since (at 10M
-- events, 100k pending events of four years' dates read 0.6M folded days before, and the
-- window function over them took 1.6 s). An erasure holds a temporary table of this name
-- (the days of the learners it touched, before and after), which DuckDB reads in place of
-- the view.
with pending as (
    select learner_key, course_key,
           cast(timezone('America/Sao_Paulo', occurred_at) as date) as day,
           count(*) as events
    from learning_events
    where stored_seq >= fold_since() and learner_key is not null and course_key is not null
      and action <> 'inactivity_flagged'
    group by all
),
starts as (  -- a learner's pending days (of any course) more than 60 days after the one
    -- before start a new span: their 30-day windows do not meet
    select learner_key, day,
           coalesce(day - lag(day) over (partition by learner_key order by day) > 60, true)
               as starts
    from (select distinct learner_key, day from pending)
),
touched as (  -- per learner, each span of pending days widened by 30 days on both sides
    select learner_key, min(day) - 30 as since_day, max(day) + 30 as until_day
    from (select learner_key, day,
                 sum(starts::int) over (partition by learner_key order by day) as span
          from starts)
    group by learner_key, span
),
folded as (  -- spans do not overlap: each folded day joins one at most
    select f.learner_key, f.course_key, f.day, f.events
    from learner_days_folded f
    join touched t on f.learner_key = t.learner_key
     and f.day between t.since_day and t.until_day
    where f.course_key is not null
)
select -1 as sign, learner_key, course_key, day, events from folded
union all
select 1, learner_key, course_key, day, sum(events)
from (select * from folded union all select * from pending)
group by learner_key, course_key, day;

comment on view learner_days_pending is
    'Internal: the learner days (sign -1 as folded, +1 with the events not folded yet) of each learner with an active event not folded yet; read by engagement_changes.';
comment on column learner_days_pending.sign is '-1: the day as folded; +1: with the pending events.';
comment on column learner_days_pending.day is 'Calendar day in America/Sao_Paulo.';
comment on column learner_days_pending.events is 'Active events of the learner on the course that day.';
