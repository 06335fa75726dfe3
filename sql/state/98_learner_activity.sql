-- grain: learner_key
-- a fold reads the pending learners' rows only
-- (consumer/store/state.py State.scoped): a learner it writes has a pending event.
-- One current state: learner_activity_folded (as of the last fold) and the macro
-- learner_activity(since) that merges the events not folded yet into it; the views
-- stickiness and cohort_retention_weekly read it. The grain above is read by
-- consumer/store/state.py, which folds, refolds and erases (the touched learners' rows)
-- every state alike; a fold reads learner_activity_touched(since), the rows of
-- learner_activity(since) but the untouched folded ones (which it would drop).
-- Each learner's active days and weeks on any course or none, as lists in one row: weekly
-- retention and stickiness count learners by their first week, their weeks and their days
-- in the last 30, which over the learner days (one row per learner, course and day) or
-- weeks meant grouping 1.4-3.4M rows by learner (0.4-1.1 s each at 10M events); over these
-- it is a pass over one row per learner (200k).
create table if not exists learner_activity_folded (
    learner_key varchar not null,
    days        date[] not null,  -- distinct calendar days (America/Sao_Paulo) with an
                                  -- active event (any but inactivity_flagged), ascending
    weeks       date[] not null   -- the Mondays of those days' weeks, distinct, ascending
);

comment on table learner_activity_folded is
    'Internal: per learner, the calendar days (America/Sao_Paulo) with an active event on any course or none, and the Mondays of their weeks, as ascending lists, as of the last fold; read it through stickiness and cohort_retention_weekly.';

create or replace macro learner_activity_touched(since) as table
-- The learners with active learning events stored from stored_seq `since` on (fold_since():
-- those not folded yet), their folded lists merged with those events' days: a set of days
-- only grows, so arrival order does not matter. All `unfolded`: a fold writes them back.
-- One folded row per learner is read (about 30k of 200k with 50,000 pending at 10M), where
-- gathering their days again from the folded learner days (sql/state/90) grouped 0.6M rows
-- (0.4-0.6 s CPU of a fold).
with new as (
    select learner_key,
           list(distinct cast(timezone('America/Sao_Paulo', occurred_at) as date)) as days
    from learning_events
    where stored_seq >= since and learner_key is not null and action <> 'inactivity_flagged'
    group by learner_key
)
select n.learner_key,
       list_sort(list_distinct(list_concat(coalesce(f.days, []), n.days))) as days,
       list_sort(list_distinct(list_concat(
           coalesce(f.weeks, []),
           list_transform(n.days, lambda d: cast(date_trunc('week', d) as date))))) as weeks,
       true as unfolded
from new n
left join learner_activity_folded f on f.learner_key = n.learner_key;

comment on macro table learner_activity_touched is
    'learner_activity_touched(since): the rows of learner_activity(since) of the learners with active learning events stored from stored_seq `since` on; nothing is read when there are none.';

create or replace macro learner_activity(since) as table
-- The folded learners, but those with active learning events stored from stored_seq
-- `since` on (fold_since(): those not folded yet), which are learner_activity_touched(since).
-- A bound that is null skips a scan's every row group, so with nothing pending only the
-- first part reads anything, with some the first reads nothing.
with pending as (
    select learner_key
    from learning_events
    where stored_seq >= since and learner_key is not null and action <> 'inactivity_flagged'
),
kept as materialized (  -- the folded learners when some event is pending, else none: a
    -- scan with nothing but this bound, computed on its own, or DuckDB joins first and
    -- bounds after, reading every row
    select * from learner_activity_folded
    where learner_key >= (select case when count(*) > 0 then '' end
                          from learning_events where stored_seq >= since)
)
select f.*, false as unfolded
from learner_activity_folded f
where f.learner_key >= (select case when count(*) = 0 then '' end
                        from learning_events where stored_seq >= since)
union all by name
select f.*, false as unfolded
from kept f
anti join pending p on f.learner_key = p.learner_key
union all by name
select * from learner_activity_touched(since);

comment on macro table learner_activity is
    'learner_activity(since): per learner, the calendar days (America/Sao_Paulo) with an active event on any course or none and the Mondays of their weeks, as lists: the folded state, with the learners who have learning events stored from stored_seq `since` on merged in (fold_since() at read time).';
