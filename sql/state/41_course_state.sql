create or replace macro course_state(since) as table
-- Per learner and course: the folded table merged with the learning events stored from
-- `since` on (see lesson_state). Counts of lessons and modules completed now move by the
-- completion_change of the lesson and module rows those events changed, so no read groups the
-- lesson state again.
with new as (
    select learner_key, course_key,
           min(occurred_at) filter (where active) as first_activity_at,
           max(occurred_at) filter (where active) as last_activity_at,
           arg_max(progress, o) filter (where progress is not null) as progress,
           max(o) filter (where progress is not null) as progress_order,
           bool_or(action = 'enrolled') as enrolled,
           bool_or(active and action <> 'enrolled') as started,
           bool_or(case when action in ('lesson_completed', 'lesson_uncompleted')
                            then lesson_key is not null
                        when action in ('module_completed', 'module_uncompleted')
                            then module_key is not null
                        else action in ('course_completed', 'course_uncompleted')
                   end) as completion_events,
           arg_max(action = 'course_completed', o) filter (where course_event) as done,
           max(o) filter (where course_event) as done_order,
           max(occurred_at) filter (where action = 'course_completed') as completed_at
    from (select *, event_order(occurred_at, kafka_partition, kafka_offset) as o,
                 action <> 'inactivity_flagged' as active,
                 action in ('course_completed', 'course_uncompleted') as course_event
          from learning_events
          where stored_seq >= since and learner_key is not null and course_key is not null)
    group by all
),
lessons as (
    select learner_key, course_key, sum(completion_change) as change
    from lesson_state(since)
    where unfolded and course_key is not null
    group by all
),
modules as (
    select learner_key, course_key, sum(completion_change) as change
    from module_state(since)
    where unfolded
    group by all
)
select learner_key, course_key,
       least(f.first_activity_at, n.first_activity_at) as first_activity_at,
       greatest(f.last_activity_at, n.last_activity_at) as last_activity_at,
       later(f.progress, f.progress_order, n.progress, n.progress_order) as progress,
       greatest(f.progress_order, n.progress_order) as progress_order,
       coalesce(n.enrolled, false) or coalesce(f.enrolled, false) as enrolled,
       coalesce(n.started, false) or coalesce(f.started, false) as started,
       coalesce(n.completion_events, false) or coalesce(f.completion_events, false)
           as completion_events,
       later(f.done, f.done_order, n.done, n.done_order) as done,
       greatest(f.done_order, n.done_order) as done_order,
       greatest(f.completed_at, n.completed_at) as completed_at,
       coalesce(f.lessons_completed, 0) + coalesce(l.change, 0) as lessons_completed,
       coalesce(f.modules_completed, 0) + coalesce(m.change, 0) as modules_completed,
       n.learner_key is not null as unfolded
from course_state_folded f
full join new n using (learner_key, course_key)
left join lessons l using (learner_key, course_key)
left join modules m using (learner_key, course_key);

comment on macro table course_state is
    'course_state(since): per learner and course, activity span, latest progress, funnel flags, course completion and counts of lessons and modules completed now: the folded state merged with the learning events stored from stored_seq `since` on.';
