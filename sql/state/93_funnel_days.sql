-- grain: learner_key, course_key, day
-- a fold reads the pending learners' rows only
-- (consumer/store/state.py State.scoped): a day it writes, and a pair it redoes, has a
-- pending event.
-- One current state: funnel_days_folded (as of the last fold) and the macro funnel_days(since)
-- that merges the events not folded yet into it; the macro course_funnel_days (sql/macros/05)
-- reads it. The grain above is read by consumer/store/state.py, which folds, refolds and
-- erases (the touched learners' rows) every state alike.
-- Per learner, course and calendar day, the funnel steps of course_funnel_between as of the
-- last fold, so a range of whole days reads one row per learner, course and day instead of
-- grouping every event of the range (3.3-3.6 s for 90 days at 10M events). Which completions
-- count depends on the range's end (a completion undone later inside the range counts as
-- activity only), so each day keeps, per kind of item, the day up to which one of its
-- completions stays done: a range ending before that day counts it.
create table if not exists funnel_days_folded (
    learner_key  varchar not null,
    course_key   varchar not null,
    day          date not null,  -- calendar day in America/Sao_Paulo
    steps        integer not null,  -- bit_or of 1 enrolled, 2 any other event but
                                    -- inactivity_flagged, 4 an uncompletion of a named item
    lesson_until date,  -- null: no lesson completed that day; else the latest day on which
                        -- the next uncompletion of one of them falls, 'infinity' if none
    module_until date,  -- the same for module_completed
    course_until date   -- the same for course_completed
);

comment on table funnel_days_folded is
    'Internal: per learner, course and calendar day (America/Sao_Paulo), the funnel steps of its events and, per lesson/module/course completion, the day its next uncompletion falls on, as of the last fold; read it through course_funnel_days.';

create or replace macro funnel_days(since) as table
-- The folded rows merged with the learning events stored from stored_seq `since` on
-- (fold_since(): those not folded yet). The steps bits only add (bit_or). A completion's
-- "until" depends on every completion and uncompletion of its item, which may arrive in any
-- order. A completion of a learner and course with no uncompletion at all, folded (bit 4 of
-- a folded day) or pending, stays done ('infinity'), and the other days' until days do not
-- move. Otherwise (`redo`) they are computed again from its completion and uncompletion
-- events (ordered by event_order, the current-state rule of README "What lands in
-- DuckDB"): with an uncompletion pending, those of all its days; with only a completion
-- pending where an uncompletion was folded, those of the pending completions alone. Merging
-- an event twice changes nothing, so a row folded with events still pending is the same row.
-- `unfolded` marks the rows the pending events changed: a fold writes those back.
with marked as (
    select learner_key, course_key, occurred_at, action,
           case when action in ('lesson_completed', 'lesson_uncompleted')
                    then lesson_key is not null
                when action in ('module_completed', 'module_uncompleted')
                    then module_key is not null
                else action in ('course_completed', 'course_uncompleted')
           end as named  -- a completion or uncompletion of a named item
    from learning_events
    where stored_seq >= since and learner_key is not null and course_key is not null
      -- Always true, but DuckDB counts each comparison with `since` (a subquery at read
      -- time) as halving the rows: without these it takes half of learning_events to be
      -- pending (5M at 10M) and builds the join with the folded days below on those 3.4M
      -- instead of on the pending days (0.4 s of 1.0 with 50,000 pending)
      and stored_seq + 1 > since and stored_seq + 2 > since and stored_seq + 3 > since
),
new as (
    select learner_key, course_key,
           cast(timezone('America/Sao_Paulo', occurred_at) as date) as day,
           bit_or(case when named and action like '%\_uncompleted' escape '\' then 2 | 4
                       when action = 'enrolled' then 1
                       when action = 'inactivity_flagged' then 0 else 2 end) as steps,
           bool_or(named and action like '%\_completed' escape '\') as completes,
           max('infinity'::date) filter (where named and action = 'lesson_completed')
               as lesson_until,
           max('infinity'::date) filter (where named and action = 'module_completed')
               as module_until,
           max('infinity'::date) filter (where named and action = 'course_completed')
               as course_until
    from marked
    group by all
),
pairs as (
    select learner_key, course_key, bool_or(steps & 4 = 4) as undoes,
           bool_or(completes) as completes
    from new group by all
),
redo as (  -- `whole`: an uncompletion pending, every until day of the pair may move
    select learner_key, course_key, true as whole from pairs where undoes
    union all
    select p.learner_key, p.course_key, false from pairs p
    semi join funnel_days_folded f
      on f.learner_key = p.learner_key and f.course_key = p.course_key and f.steps & 4 = 4
    where p.completes and not p.undoes
),
history as (
    -- every completion and uncompletion of a named item of the `whole` pairs; of the others
    -- (a completion pending where an uncompletion was folded) only their uncompletions and
    -- the pending completions: with no uncompletion pending the folded completions' until
    -- days stay (a completion's is the day of its item's next uncompletion, whatever other
    -- completions come between), so only the pending ones' are computed and only the
    -- pending days change (course_funnel_days 0.9 s against 1.1 at 10M with 50,000 pending)
    select e.learner_key, e.course_key, r.whole,
           cast(timezone('America/Sao_Paulo', e.occurred_at) as date) as day,
           split_part(e.action, '_', 1) as kind,
           case split_part(e.action, '_', 1) when 'lesson' then e.lesson_key
                when 'module' then e.module_key else e.course_key end as item,
           e.action like '%\_uncompleted' escape '\' as undo,
           event_order(e.occurred_at, e.kafka_partition, e.kafka_offset) as o
    from learning_events e
    join redo r on e.learner_key = r.learner_key and e.course_key = r.course_key
    where e.action in ('lesson_completed', 'lesson_uncompleted', 'module_completed',
                       'module_uncompleted', 'course_completed', 'course_uncompleted')
      and (r.whole or e.action like '%\_uncompleted' escape '\' or e.stored_seq >= since)
),
kept as (  -- per day, the latest day a completion of each kind stays done until
    select learner_key, course_key, day, whole,
           max(until) filter (where kind = 'lesson') as lesson_until,
           max(until) filter (where kind = 'module') as module_until,
           max(until) filter (where kind = 'course') as course_until
    from (select *, coalesce(min(case when undo then day end) over (
                        partition by learner_key, course_key, kind, item order by o
                        rows between 1 following and unbounded following),
                        'infinity'::date) as until
          from history where item is not null)
    where not undo
    group by all
),
pending as materialized (  -- `kept`: a day of a pair with an uncompletion pending,
    -- its until days recomputed whole; computed once for the two parts below and the bound
    select coalesce(n.learner_key, k.learner_key) as learner_key,
           coalesce(n.course_key, k.course_key) as course_key,
           coalesce(n.day, k.day) as day, n.steps, coalesce(k.whole, false) as kept,
           coalesce(k.lesson_until, n.lesson_until) as lesson_until,
           coalesce(k.module_until, n.module_until) as module_until,
           coalesce(k.course_until, n.course_until) as course_until
    from new n
    full join kept k
      on n.learner_key = k.learner_key and n.course_key = k.course_key and n.day = k.day
)
-- The folded days no pending day touches, as they are, then the pending days merged with
-- their folded ones. Two parts, not a full join: `where unfolded` (what a fold and
-- funnel_pairs_touched read) leaves only the second, one join from the pending days, and
-- with nothing pending it reads nothing (a full join read all 3.4M folded days at 10M, 0.8
-- s, to find no changed one).
select f.*, false as unfolded
from funnel_days_folded f
anti join pending p
  on f.learner_key = p.learner_key and f.course_key = p.course_key and f.day = p.day
union all by name
select p.learner_key, p.course_key, p.day,
       coalesce(f.steps, 0) | coalesce(p.steps, 0) as steps,
       -- recomputed when kept, else the folded day's completions and the new ones
       case when p.kept then p.lesson_until else greatest(f.lesson_until, p.lesson_until)
       end as lesson_until,
       case when p.kept then p.module_until else greatest(f.module_until, p.module_until)
       end as module_until,
       case when p.kept then p.course_until else greatest(f.course_until, p.course_until)
       end as course_until,
       true as unfolded,
       -- the folded day merged (null: none), so a fold deletes it by rowid instead of
       -- joining all 3.4M folded days at 10M on the key again (0.15 CPU s)
       f.folded_rowid
from pending p
left join (  -- none read when nothing is pending: a limit of 0 ends the scan (DuckDB
             -- builds a hash table of every folded day to probe the pending ones with, even
             -- none)
    select *, rowid as folded_rowid from funnel_days_folded
    limit (select rows_if(count(*) > 0) from pending)
) f on f.learner_key = p.learner_key and f.course_key = p.course_key and f.day = p.day;

comment on macro table funnel_days is
    'funnel_days(since): per learner, course and calendar day (America/Sao_Paulo), the funnel steps and completion "until" days: the folded state merged with the learning events stored from stored_seq `since` on (fold_since() at read time).';

-- A store made before this table had its rows before fold_since() folded already: all of
-- them are merged in once, here, when the table is still empty (merging the pending ones too
-- changes nothing, see above). On any other store `since` is past every row: nothing is read.
insert into funnel_days_folded by name
select learner_key, course_key, day, steps, lesson_until, module_until, course_until
from funnel_days((select case when count(*) = 0 then 0 else 9223372036854775807 end
                  from funnel_days_folded))
where unfolded;
