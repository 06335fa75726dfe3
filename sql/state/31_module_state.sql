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
