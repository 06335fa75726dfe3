-- grain: learner_key, week
-- a fold reads the pending learners' rows only
-- (consumer/store/state.py State.scoped): a week it writes has a pending event.
-- One current state: learner_weeks_folded (as of the last fold) and the macro
-- learner_weeks(since) that merges the events not folded yet into it. The view
-- cohort_retention_weekly read it until the learner activity (sql/state/98: each
-- learner's weeks as one list) replaced it there; it stays, folded, for analysts' queries
-- of it, until a change removes it with its table from stores that have them. The grain
-- above is read by consumer/store/state.py, which folds, refolds and erases (the touched
-- learners' rows) every state alike.
-- The calendar weeks (Monday to Sunday, America/Sao_Paulo) each learner was active in, on
-- any course or none, as of the last fold: weekly retention counts these, and reading them
-- is a scan of one row per learner and week where taking the distinct weeks of every
-- learner's active days took 0.6-0.7 s at 10M events.
create table if not exists learner_weeks_folded (
    learner_key varchar not null,
    week        date not null  -- the Monday starting the week, in America/Sao_Paulo
);

comment on table learner_weeks_folded is
    'Internal: the calendar weeks (starting Monday, America/Sao_Paulo) each learner had an active event (any but inactivity_flagged) in, as of the last fold; read it through cohort_retention_weekly.';

create or replace macro learner_weeks(since) as table
-- The folded weeks plus those of the learning events stored from `since` on (fold_since():
-- those not folded yet): a set only grows, so arrival order does not matter. `unfolded`
-- marks the weeks those events add: a fold writes those. Two parts, not a full join:
-- `where unfolded` (what a fold reads) leaves only the second, the new weeks no folded
-- week matches, where a full join carried all 1.35M folded weeks at 10M to that filter
-- (0.10-0.28 CPU s of a fold).
with new as (
    select distinct learner_key,
           cast(date_trunc('week', cast(timezone('America/Sao_Paulo', occurred_at) as date))
                as date) as week
    from learning_events
    where stored_seq >= since and learner_key is not null and action <> 'inactivity_flagged'
)
select learner_key, week, false as unfolded
from learner_weeks_folded
union all by name
select learner_key, week, true as unfolded,
       -- the folded row each replaces: none, so a fold deletes nothing, by rowid
       -- (consumer/store/state.py), without a pass over the folded weeks
       null::bigint as folded_rowid
from new n
anti join learner_weeks_folded f on f.learner_key = n.learner_key and f.week = n.week;

comment on macro table learner_weeks is
    'learner_weeks(since): the calendar weeks (starting Monday, America/Sao_Paulo) each learner was active in: the folded state plus the learning events stored from stored_seq `since` on (fold_since() at read time).';

-- A store made before this table had its rows before fold_since() folded already: all of
-- them are added once, here, when the table is still empty (adding the pending ones too
-- changes nothing). On any other store `since` is past every row: nothing is read.
insert into learner_weeks_folded by name
select learner_key, week
from learner_weeks((select case when count(*) = 0 then 0 else 9223372036854775807 end
                    from learner_weeks_folded))
where unfolded;
