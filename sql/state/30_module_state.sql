-- grain: learner_key, course_key, module_key
-- a fold reads the pending learners' rows only
-- (consumer/store/state.py State.scoped), as lesson_state: a row it writes has a pending
-- event.
-- One current state: module_state_folded (as of the last fold), the macro module_state(since)
-- that merges the events not folded yet into it. The grain above (the key columns) is read by
-- consumer/store/state.py, which folds and refolds every state alike.
-- Current completion per learner and module, as of the last fold (see module_state).
create table if not exists module_state_folded (
    learner_key varchar not null,
    course_key  varchar not null,
    module_key  varchar not null,
    done        boolean not null,
    done_order  hugeint not null
);

comment on table module_state_folded is
    'Internal: per learner and module, the current completion (with the event_order it came from) as of the last fold.';

create or replace macro module_state(since) as table
-- Current completion per learner and module: the folded table merged with the
-- module_completed/module_uncompleted events stored from `since` on, as lesson_state does
-- for lessons (same `unfolded` and `completion_change` columns).
with new as (
    select learner_key, course_key, module_key,
           arg_max(action = 'module_completed', o) as done, max(o) as done_order
    from (select learner_key, course_key, module_key, action,
                 event_order(occurred_at, kafka_partition, kafka_offset) as o
          from learning_events
          where stored_seq >= since
            and learner_key is not null and course_key is not null and module_key is not null
            and action in ('module_completed', 'module_uncompleted'))
    group by all
)
select learner_key, course_key, module_key,  -- `using`: one column each, from either side
       later(f.done, f.done_order, n.done, n.done_order) as done,
       greatest(f.done_order, n.done_order) as done_order,
       n.learner_key is not null as unfolded,
       later(f.done, f.done_order, n.done, n.done_order)::int
           - coalesce(f.done, false)::int as completion_change
from module_state_folded f
full join new n using (learner_key, course_key, module_key);

comment on macro table module_state is
    'module_state(since): current completion per learner and module: the folded state merged with the learning events stored from stored_seq `since` on.';
