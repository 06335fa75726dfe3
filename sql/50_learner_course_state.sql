create or replace view learner_course_state as
-- Current state (data-model.md section 6): per learner and course, the latest
-- completed/uncompleted event of each lesson, module and the course itself wins,
-- by occurred_at, ties broken by arrival. Aggregated first, so arrival order
-- cannot change the answer.
with latest as (
    select learner_key, course_key,
           case when action like 'lesson_%' then 'lesson'
                when action like 'module_%' then 'module' else 'course' end as level,
           case when action like 'lesson_%' then lesson_key
                when action like 'module_%' then module_key else course_key end as item_key,
           arg_max(action like '%\_completed' escape '\',
                   event_order(occurred_at, kafka_partition, kafka_offset)) as done,
           max(occurred_at) filter (where action like '%\_completed' escape '\') as completed_at
    from learning_events
    where learner_key is not null and course_key is not null
      and action in ('lesson_completed', 'lesson_uncompleted', 'module_completed',
                     'module_uncompleted', 'course_completed', 'course_uncompleted')
    group by all
    having item_key is not null
)
select learner_key, course_key,
       count(*) filter (where level = 'lesson' and done) as lessons_completed,
       count(*) filter (where level = 'module' and done) as modules_completed,
       coalesce(bool_or(level = 'course' and done), false) as course_completed,
       max(completed_at) filter (where level = 'course' and done) as course_completed_at
from latest
group by all;

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
