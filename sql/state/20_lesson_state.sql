-- grain: learner_key, course_key, lesson_key
-- Exact if a fold read only the pending learners' rows (State.scoped in
-- consumer/store/state.py), but not so marked: its one read is a join on the few pending
-- rows, and at 10M a copy of 50,000 pending events' learners' rows (0.5M of 3.3M) cost
-- 0.20 s where the staging it spared cost 0.10 s.
-- One current state: lesson_state_folded (as of the last fold), the macro lesson_state(since)
-- that merges the events not folded yet into it, and the view learner_lesson_state that reads
-- it. The grain above (the key columns) is read by consumer/store/state.py, which folds and
-- refolds every state alike.
-- Current state per learner and lesson, as of the last fold (see lesson_state). Each
-- "latest event wins" value keeps the event_order of the event it came from, so events
-- folded later, in any order, replace it only if they order after it.
create table if not exists lesson_state_folded (
    learner_key     varchar not null,
    course_key      varchar,  -- an AlpaClass lesson event may name no course
    lesson_key      varchar not null,
    completed       boolean,  -- null: no completed/uncompleted event yet
    completed_order hugeint,
    favorite        boolean,  -- null: no favourite/unfavourite event yet
    favorite_order  hugeint,
    seen            boolean not null
);

comment on table lesson_state_folded is
    'Internal: per learner and lesson, the current completion and favourite (with the event_order they came from) as of the last fold; read it through learner_lesson_state.';

create or replace macro lesson_state(since) as table
-- Current state per learner and lesson (README, What lands in DuckDB): the folded table merged
-- with the learning events stored from stored_seq `since` on (fold_since(): those not folded
-- yet) by `later`, so the answer is the same whatever was folded when, and whatever the arrival
-- order. Reading the folded state is a scan of one row per learner and lesson instead of a
-- grouping of every event. `unfolded` marks rows those events changed and
-- `completion_change` (-1, 0, +1) how their completion moved: a fold writes those rows back
-- and course_state adjusts its lesson counts by them, and deletes the folded rows they
-- replace by `folded_rowid`.
with new as (
    select learner_key, course_key, lesson_key,
           arg_max(action = 'lesson_completed', o) filter (where completion) as completed,
           max(o) filter (where completion) as completed_order,
           arg_max(action = 'lesson_favorited', o) filter (where favourite) as favorite,
           max(o) filter (where favourite) as favorite_order,
           bool_or(action <> 'inactivity_flagged') as seen
    from (select learner_key, course_key, lesson_key, action,
                 event_order(occurred_at, kafka_partition, kafka_offset) as o,
                 action in ('lesson_completed', 'lesson_uncompleted') as completion,
                 action in ('lesson_favorited', 'lesson_unfavorited') as favourite
          from learning_events
          where stored_seq >= since and learner_key is not null and lesson_key is not null)
    group by all
)
select coalesce(n.learner_key, f.learner_key) as learner_key,
       coalesce(n.course_key, f.course_key) as course_key,
       coalesce(n.lesson_key, f.lesson_key) as lesson_key,
       later(f.completed, f.completed_order, n.completed, n.completed_order) as completed,
       greatest(f.completed_order, n.completed_order) as completed_order,
       later(f.favorite, f.favorite_order, n.favorite, n.favorite_order) as favorite,
       greatest(f.favorite_order, n.favorite_order) as favorite_order,
       coalesce(n.seen, false) or coalesce(f.seen, false) as seen,
       n.learner_key is not null as unfolded,
       coalesce(later(f.completed, f.completed_order, n.completed, n.completed_order), false)::int
           - coalesce(f.completed, false)::int as completion_change,
       -- the folded row merged (null: none), so a fold deletes it by rowid instead of
       -- joining all 3.3M folded rows at 10M on the key again (0.15 CPU s)
       f.rowid as folded_rowid
from lesson_state_folded f
full join new n
  on f.learner_key = n.learner_key and f.course_key is not distinct from n.course_key
 and f.lesson_key = n.lesson_key;

comment on macro table lesson_state is
    'lesson_state(since): current completion, favourite and activity per learner and lesson: the folded state merged with the learning events stored from stored_seq `since` on (fold_since() at read time).';

create or replace view learner_lesson_state as
-- Current state per learner and lesson (README, What lands in DuckDB), from lesson_state: the
-- folded state with the events not folded yet merged in.
select learner_key, course_key, lesson_key, completed, favorite, seen
from lesson_state(fold_since());

comment on view learner_lesson_state is
    'Helper: per learner and lesson, whether it is completed and a favourite now (latest event of each pair wins), and whether the learner was active on it at all.';
comment on column learner_lesson_state.completed is
    'Latest lesson_completed/lesson_uncompleted event (by occurred_at, then arrival) is a completion; null when there is none.';
comment on column learner_lesson_state.favorite is
    'Latest lesson_favorited/lesson_unfavorited event is a favourite; null when there is none.';
comment on column learner_lesson_state.seen is
    'Any active event on the lesson (every learning event but inactivity_flagged).';
