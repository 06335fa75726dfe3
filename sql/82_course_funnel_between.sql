create or replace macro course_funnel_between(from_ts, to_ts) as table
-- course_funnel over the events of [from_ts, to_ts) only: the same steps, with completion
-- the latest completed/uncompleted event inside the window.
with ev as not materialized (  -- read twice: filtering twice beats copying it
    select * from learning_events
    where occurred_at >= from_ts::timestamptz and occurred_at < to_ts::timestamptz
      and learner_key is not null and course_key is not null
),
per_learner as (
    select course_key, learner_key,
           bool_or(action = 'enrolled') as enrolled,
           bool_or(action not in ('enrolled', 'inactivity_flagged')) as started
    from ev
    group by all
),
latest as (
    select course_key, learner_key, split_part(action, '_', 1) as level,
           case split_part(action, '_', 1) when 'lesson' then lesson_key
                when 'module' then module_key else course_key end as item,
           arg_max(action like '%\_completed' escape '\',
                   event_order(occurred_at, kafka_partition, kafka_offset)) as done
    from ev
    where action in ('lesson_completed', 'lesson_uncompleted', 'module_completed',
                     'module_uncompleted', 'course_completed', 'course_uncompleted')
    group by all
    having item is not null
),
state as (
    select course_key, learner_key,
           bool_or(level = 'lesson' and done) as lesson_done,
           bool_or(level = 'module' and done) as module_done,
           bool_or(level = 'course' and done) as course_done
    from latest
    group by all
)
select p.course_key,
       count(*) as learners,
       count(*) filter (where p.enrolled) as enrolled,
       count(*) filter (where p.started) as started,
       count(*) filter (where s.lesson_done) as completed_lesson,
       count(*) filter (where s.module_done) as completed_module,
       count(*) filter (where s.course_done) as completed_course
from per_learner p
left join state s using (course_key, learner_key)
group by all;

comment on macro table course_funnel_between is
    'course_funnel_between(from_ts, to_ts): course_funnel counted over the events of [from_ts, to_ts) only.';
