create or replace view lesson_funnel as
select s.course_key,
       s.lesson_key,
       arg_max(e.lesson_name, (e.occurred_at, e.kafka_partition, e.kafka_offset))
           filter (where e.lesson_name is not null) as lesson_name,
       arg_max(e.module_key, (e.occurred_at, e.kafka_partition, e.kafka_offset))
           filter (where e.module_key is not null) as module_key,
       count(distinct s.learner_key) filter (where s.completed) as learners_completed,
       count(distinct s.learner_key) filter (where s.seen) as learners_seen,
       count(distinct s.learner_key) filter (where s.completed)
           / nullif(any_value(c.learners), 0) as share_of_course_learners
from learner_lesson_state s
join learning_events e using (learner_key, course_key, lesson_key)
join courses c using (course_key)
where s.course_key is not null
group by all;

comment on view lesson_funnel is
    'One row per course x lesson: learners who completed it now (latest completed/uncompleted event wins) and learners active on it.';
comment on column lesson_funnel.learners_seen is
    'Learners with any active event on the lesson (seen, started, completed, favourite, rating, comment...).';
comment on column lesson_funnel.share_of_course_learners is
    'learners_completed / all learners of the course (courses.learners).';
