create or replace view learner_lesson_state as
-- Current state per learner and lesson (data-model.md section 6): completion and favourite
-- are each the latest of their pair of events, by occurred_at, ties broken by arrival.
select learner_key, course_key, lesson_key,
       arg_max(action = 'lesson_completed',
               event_order(occurred_at, kafka_partition, kafka_offset))
           filter (where action in ('lesson_completed', 'lesson_uncompleted')) as completed,
       arg_max(action = 'lesson_favorited',
               event_order(occurred_at, kafka_partition, kafka_offset))
           filter (where action in ('lesson_favorited', 'lesson_unfavorited')) as favorite,
       bool_or(action <> 'inactivity_flagged') as seen
from learning_events
where learner_key is not null and lesson_key is not null
group by all;

comment on view learner_lesson_state is
    'Helper: per learner and lesson, whether it is completed and a favourite now (latest event of each pair wins), and whether the learner was active on it at all.';
comment on column learner_lesson_state.completed is
    'Latest lesson_completed/lesson_uncompleted event (by occurred_at, then arrival) is a completion; null when there is none.';
comment on column learner_lesson_state.favorite is
    'Latest lesson_favorited/lesson_unfavorited event is a favourite; null when there is none.';
comment on column learner_lesson_state.seen is
    'Any active event on the lesson (every learning event but inactivity_flagged).';
