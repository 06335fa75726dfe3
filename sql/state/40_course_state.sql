-- grain: learner_key, course_key
-- a fold reads the pending learners' rows only
-- (consumer/store/state.py State.scoped): a row it writes has a pending event; ordered_steps
-- reads the rows of pairs with one. purchase_rows reads the rows of buyers with none too,
-- whom sql/state/81's purchase_state_learners adds to the copy.
-- One current state: course_state_folded (as of the last fold), the macro course_state(since)
-- that merges the events not folded yet into it, and the view learner_course_state that reads
-- it. The grain above (the key columns) is read by consumer/store/state.py, which folds and
-- refolds every state alike.
-- Per learner and course, as of the last fold (see course_state): activity span, latest
-- progress, funnel flags, the course's own completion, and the counts of lessons and modules
-- completed now (kept up to date from the lesson and module changes of each fold).
create table if not exists course_state_folded (
    learner_key       varchar not null,
    course_key        varchar not null,
    first_activity_at timestamptz,
    last_activity_at  timestamptz,
    progress          double,
    progress_order    hugeint,
    enrolled          boolean not null,
    started           boolean not null,
    completion_events boolean not null,
    done              boolean,  -- null: no course_completed/course_uncompleted event yet
    done_order        hugeint,
    completed_at      timestamptz,
    lessons_completed bigint not null,
    modules_completed bigint not null
);

comment on table course_state_folded is
    'Internal: per learner and course, activity, progress, funnel flags and completion state as of the last fold; read it through learner_course_state and learner_course_progress.';

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

create or replace view learner_course_state as
-- Current state (README, What lands in DuckDB) per learner and course with any completed or
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
