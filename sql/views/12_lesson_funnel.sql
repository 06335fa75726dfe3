create or replace view lesson_funnel as
-- Learner counts from learner_lesson_state (one row per learner and lesson already), names
-- and modules from lesson_catalogue, learners per course from `courses`: never a pass over
-- the events.
with state as (
    select course_key, lesson_key,
           count(*) filter (where completed) as learners_completed,
           count(*) filter (where seen) as learners_seen
    from learner_lesson_state
    where course_key is not null
    group by all
)
select s.course_key, s.lesson_key, n.lesson_name, n.module_key,
       s.learners_completed, s.learners_seen,
       s.learners_completed / nullif(c.learners, 0) as share_of_course_learners
from state s
join lesson_catalogue(fold_since()) n using (course_key, lesson_key)
join courses c using (course_key);

comment on view lesson_funnel is
    'One row per course x lesson: learners who completed it now (latest completed/uncompleted event wins) and learners active on it.';
comment on column lesson_funnel.learners_seen is
    'Learners with any active event on the lesson (seen, started, completed, favourite, rating, comment...).';
comment on column lesson_funnel.share_of_course_learners is
    'learners_completed / all learners of the course (courses.learners).';
comment on column lesson_funnel.lesson_name is
    'The latest name sent for the lesson (by occurred_at, then arrival).';
comment on column lesson_funnel.module_key is
    'The latest module the lesson was reported in (by occurred_at, then arrival).';
comment on column lesson_funnel.learners_completed is
    'Learners whose latest lesson_completed/lesson_uncompleted event for the lesson is a completion.';
