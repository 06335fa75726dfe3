create or replace macro course_funnel_between(from_ts, to_ts) as table
-- course_funnel over the events of [from_ts, to_ts) only: the same steps, with completion
-- the latest completed/uncompleted event inside the window (by event_order).
-- Shaped for speed, same answer: an item (lesson, module, course) is completed now iff one
-- of its completions is later than its latest uncompletion, or it has none. Uncompletions
-- are rare, so only they are grouped by item (`undone`: a few % of the window), and each
-- completion is checked against that small table on its way into the one pass that groups
-- the window by (course, learner). Grouping every completion by item instead cost more
-- than all the rest. The steps are bits of one bit_or (1 enrolled, 2 started, 4/8/16 a
-- lesson/module/course completed now): one aggregate costs less than five bool_or.
with ev as not materialized (  -- read twice: filtering twice beats copying it
    select * from learning_events
    where occurred_at >= from_ts::timestamptz and occurred_at < to_ts::timestamptz
      and learner_key is not null and course_key is not null
),
undone as (  -- per uncompleted item: the completion action it undoes, and when last undone
    select course_key, learner_key,
           case action when 'lesson_uncompleted' then 'lesson_completed'
                       when 'module_uncompleted' then 'module_completed'
                       else 'course_completed' end as action,
           case action when 'lesson_uncompleted' then lesson_key
                       when 'module_uncompleted' then module_key else course_key end as item,
           max(event_order(occurred_at, kafka_partition, kafka_offset)) as undone_at
    from ev
    where action in ('lesson_uncompleted', 'module_uncompleted', 'course_uncompleted')
    group by all
    having item is not null
),
per_learner as (
    select e.course_key, e.learner_key,
           bit_or(case when e.item is null then  -- not a completion of a named item
                           case e.action when 'enrolled' then 1
                                         when 'inactivity_flagged' then 0 else 2 end
                       when u.undone_at is null or event_order(
                           e.occurred_at, e.kafka_partition, e.kafka_offset) > u.undone_at then
                           case e.action when 'lesson_completed' then 2 | 4
                                         when 'module_completed' then 2 | 8 else 2 | 16 end
                       else 2 end) as steps  -- a completion undone later: activity only
    from (select *, case action when 'lesson_completed' then lesson_key
                                when 'module_completed' then module_key
                                when 'course_completed' then course_key end as item
          from ev) e
    left join undone u on e.course_key = u.course_key and e.learner_key = u.learner_key
         and e.action = u.action and e.item = u.item
    group by all
)
select course_key,
       count(*) as learners,
       count(*) filter (where steps & 1 = 1) as enrolled,
       count(*) filter (where steps & 2 = 2) as started,
       count(*) filter (where steps & 4 = 4) as completed_lesson,
       count(*) filter (where steps & 8 = 8) as completed_module,
       count(*) filter (where steps & 16 = 16) as completed_course
from per_learner
group by all;

comment on macro table course_funnel_between is
    'course_funnel_between(from_ts, to_ts): course_funnel counted over the events of [from_ts, to_ts) only.';
