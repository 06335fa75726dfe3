create or replace view learner_course_progress as
-- One row of course_state per learner and course (the folded state with the events not
-- folded yet merged in); the course name is the latest one sent, from `course_names`.
select s.learner_key,
       s.course_key,
       n.course_name,
       s.first_activity_at,
       s.last_activity_at,
       s.lessons_completed,
       s.modules_completed,
       coalesce(s.done, false) as course_completed,
       case when s.done then s.completed_at end as course_completed_at,
       s.progress
from course_state(fold_since()) s
join course_names n using (course_key);

comment on view learner_course_progress is
    'One row per learner x course: activity span and current completion state (latest completed/uncompleted event wins, whatever the arrival order).';
comment on column learner_course_progress.course_name is
    'The latest name sent for the course (by occurred_at, then arrival), from any learner.';
comment on column learner_course_progress.first_activity_at is
    'Earliest occurred_at of an active event (any learning event but inactivity_flagged).';
comment on column learner_course_progress.last_activity_at is
    'Latest occurred_at of an active event (any learning event but inactivity_flagged).';
comment on column learner_course_progress.lessons_completed is
    'Lessons whose latest completed/uncompleted event is a completion.';
comment on column learner_course_progress.modules_completed is
    'Modules whose latest completed/uncompleted event is a completion.';
comment on column learner_course_progress.course_completed is
    'True when the latest course_completed/course_uncompleted event is a completion.';
comment on column learner_course_progress.course_completed_at is
    'occurred_at of that completion; null when the course is not completed now.';
comment on column learner_course_progress.progress is
    'Latest progress (0-100) the platform sent for this learner on this course.';
