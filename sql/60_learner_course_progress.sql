create or replace view learner_course_progress as
-- The course name is the latest one sent, from `course_names` (a pass grouping by course
-- alone, nearly free; `courses` also counts distinct learners).
with activity as (
    select learner_key, course_key,
           min(occurred_at) filter (where action <> 'inactivity_flagged') as first_activity_at,
           max(occurred_at) filter (where action <> 'inactivity_flagged') as last_activity_at,
           arg_max(progress, event_order(occurred_at, kafka_partition, kafka_offset))
               filter (where progress is not null) as progress
    from learning_events
    where learner_key is not null and course_key is not null
    group by all
),
names as (select * from course_names)
select a.learner_key,
       a.course_key,
       n.course_name,
       a.first_activity_at,
       a.last_activity_at,
       coalesce(s.lessons_completed, 0) as lessons_completed,
       coalesce(s.modules_completed, 0) as modules_completed,
       coalesce(s.course_completed, false) as course_completed,
       s.course_completed_at,
       a.progress
from activity a
join names n using (course_key)
left join learner_course_state s using (learner_key, course_key);

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
