create or replace view learner_course_state as
-- Current state (data-model.md section 6) per learner and course with any completed or
-- uncompleted event of a lesson, module or the course itself, from course_state.
select learner_key, course_key, lessons_completed, modules_completed,
       coalesce(done, false) as course_completed,
       case when done then completed_at end as course_completed_at
from course_state(fold_since())
where completion_events;

comment on view learner_course_state is
    'Helper of learner_course_progress: current completion state per learner and course (latest completed/uncompleted event wins).';
comment on column learner_course_state.lessons_completed is
    'Lessons whose latest completed/uncompleted event (by occurred_at, then arrival) is a completion.';
comment on column learner_course_state.modules_completed is
    'Modules whose latest completed/uncompleted event is a completion.';
comment on column learner_course_state.course_completed is
    'True when the latest course_completed/course_uncompleted event is a completion.';
comment on column learner_course_state.course_completed_at is
    'occurred_at of the latest course_completed event; null when the course is not completed now.';
