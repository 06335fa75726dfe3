create or replace view learner_lesson_state as
-- Current state per learner and lesson (data-model.md section 6), from lesson_state: the
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
