create or replace macro lesson_state(since) as table
-- Current state per learner and lesson (data-model.md section 6): the folded table merged
-- with the learning events stored from stored_seq `since` on (fold_since(): those not folded
-- yet) by `later`, so the answer is the same whatever was folded when, and whatever the arrival
-- order. Reading the folded state is a scan of one row per learner and lesson instead of a
-- grouping of every event. `unfolded` marks rows those events changed and
-- `completion_change` (-1, 0, +1) how their completion moved: a fold writes those rows back
-- and course_state adjusts its lesson counts by them.
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
           - coalesce(f.completed, false)::int as completion_change
from lesson_state_folded f
full join new n
  on f.learner_key = n.learner_key and f.course_key is not distinct from n.course_key
 and f.lesson_key = n.lesson_key;

comment on macro table lesson_state is
    'lesson_state(since): current completion, favourite and activity per learner and lesson: the folded state merged with the learning events stored from stored_seq `since` on (fold_since() at read time).';
