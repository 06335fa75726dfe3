create or replace view course_funnel as
-- Steps counted over course_state (one row per learner and course, current state); the
-- course name is the latest one sent, from `course_names`.
with steps as (
    select course_key,
           count(*) as learners,
           count(*) filter (where enrolled) as enrolled,
           count(*) filter (where started) as started,
           count(*) filter (where lessons_completed > 0) as completed_lesson,
           count(*) filter (where modules_completed > 0) as completed_module,
           count(*) filter (where done) as completed_course
    from course_state(fold_since())
    group by all
)
select s.course_key, n.course_name, split_part(s.course_key, ':', 1) as platform,
       s.learners, s.enrolled, s.started,
       s.completed_lesson, s.completed_module, s.completed_course,
       s.enrolled / nullif(s.learners, 0) as enrolled_rate,
       s.started / nullif(s.enrolled, 0) as started_rate,
       s.completed_lesson / nullif(s.started, 0) as completed_lesson_rate,
       s.completed_module / nullif(s.completed_lesson, 0) as completed_module_rate,
       s.completed_course / nullif(s.completed_module, 0) as completed_course_rate
from steps s
join course_names n using (course_key);

comment on view course_funnel is
    'One row per course: learners at each step (current state) and the conversion between consecutive steps.';
comment on column course_funnel.course_name is
    'The latest name sent for the course (by occurred_at, then arrival).';
comment on column course_funnel.platform is 'The platform part of course_key.';
comment on column course_funnel.learners is 'Distinct learners with any event on the course.';
comment on column course_funnel.enrolled is 'Learners with an enrolment event (AlpaClass sends none).';
comment on column course_funnel.started is
    'Learners with an active event other than enrolled (inactivity_flagged is not activity).';
comment on column course_funnel.completed_lesson is 'Learners with at least one lesson completed now.';
comment on column course_funnel.completed_module is 'Learners with at least one module completed now.';
comment on column course_funnel.completed_course is 'Learners whose course is completed now.';
comment on column course_funnel.enrolled_rate is 'enrolled / learners; null when the base is 0.';
comment on column course_funnel.started_rate is
    'started / enrolled; null when nobody enrolled (platforms without enrolment events).';
comment on column course_funnel.completed_lesson_rate is 'completed_lesson / started.';
comment on column course_funnel.completed_module_rate is
    'completed_module / completed_lesson; can exceed 1 where a platform reports modules without lessons.';
comment on column course_funnel.completed_course_rate is
    'completed_course / completed_module; can exceed 1 where a platform reports only course completion.';
