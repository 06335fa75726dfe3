-- grain: learner_key, course_key
-- a fold reads the pending learners' rows only
-- (consumer/store/state.py State.scoped): a pair it writes, or redoes (reading its
-- course_state_folded row), has a pending event.
-- One current state: ordered_steps_folded (as of the last fold) and the macro
-- ordered_steps(since) that merges the events not folded yet into it; the macro
-- ordered_funnel (sql/macros/03) reads it. The grain above is read by
-- consumer/store/state.py, which folds, refolds and erases (the touched learners' rows)
-- every state alike.
-- Per learner and course with an enrolment, when each step of ordered_funnel first happened
-- in order: whether a step falls inside a conversion window and before as_of is then a
-- comparison, so ordered_funnel reads one row per enrolled learner and course instead of
-- joining every event with its enrolment (1.2-1.7 s at 10M events). The steps do not depend
-- on the window: the first start at or after the enrolment is inside the window iff any is.
create table if not exists ordered_steps_folded (
    learner_key varchar not null,
    course_key  varchar not null,
    enrolled_at timestamptz not null,  -- the first enrolled event
    started_at  timestamptz,  -- the first active event but enrolled at or after enrolled_at
    lesson_at   timestamptz,  -- the first lesson_completed at or after enrolled_at
    course_at   timestamptz   -- the first course_completed at or after lesson_at
);

comment on table ordered_steps_folded is
    'Internal: per enrolled learner and course, the first enrolment and the first start, lesson completion and course completion after it, in that order, as of the last fold; read it through ordered_funnel.';

create or replace macro ordered_steps(since) as table
-- The folded rows merged with the learning events stored from stored_seq `since` on
-- (fold_since(): those not folded yet). Each step is a minimum over the events after the
-- step before, so a pending event moves a step only to an earlier time: merged with least()
-- while the steps before stay where they were. When a pending enrolment comes before the
-- folded one, or a pending lesson completion before the folded lesson step, the steps after
-- it may be events folded long ago (below the old step): those learners and courses
-- (`redo`) are computed again from their events from the earliest moved step on, the folded
-- ones read only where course_state_folded (which holds the rows before `since`, as this
-- table does) has an active event of the pair from then on. `unfolded` marks the rows the
-- pending events changed: a fold writes those back.
with new as (
    select learner_key, course_key, action, occurred_at
    from learning_events
    where stored_seq >= since and learner_key is not null and course_key is not null
      and action <> 'inactivity_flagged'
),
touched as (
    select n.learner_key, n.course_key,
           any_value(f.enrolled_at) as enrolled_at, any_value(f.started_at) as started_at,
           any_value(f.lesson_at) as lesson_at, any_value(f.course_at) as course_at,
           min(n.occurred_at) filter (where n.action = 'enrolled') as new_enrolled,
           min(n.occurred_at) filter (where n.action <> 'enrolled'
                                        and n.occurred_at >= f.enrolled_at) as new_started,
           min(n.occurred_at) filter (where n.action = 'lesson_completed'
                                        and n.occurred_at >= f.enrolled_at) as new_lesson,
           min(n.occurred_at) filter (where n.action = 'course_completed'
                                        and n.occurred_at >= f.lesson_at) as new_course
    from new n
    left join ordered_steps_folded f
      on f.learner_key = n.learner_key and f.course_key = n.course_key
    group by n.learner_key, n.course_key
),
redo as materialized (  -- `since_at`: the earliest step that moves; no step depends on an
    -- event before it (every step is at or after the enrolment, the course step at or after
    -- the lesson step)
    select *,
           least(case when new_enrolled < coalesce(enrolled_at, 'infinity'::timestamptz)
                      then new_enrolled end,
                 case when new_lesson < coalesce(lesson_at, 'infinity'::timestamptz)
                      then new_lesson end) as since_at
    from touched
    where new_enrolled < coalesce(enrolled_at, 'infinity'::timestamptz)
       or new_lesson < coalesce(lesson_at, 'infinity'::timestamptz)
),
old as materialized (  -- those with folded events at or after since_at: the pair's last
    -- active event as folded (course_state_folded.last_activity_at, the same events) says
    -- so. A new enrolment has none, nor has a live step's pair (no event folded after it):
    -- with none the folded events are not read (a join to nothing skips the scan), where
    -- every redo read the learner and course of all 10M events at 10M (0.3-0.5 s CPU of a
    -- fold of 50,000)
    select r.learner_key, r.course_key, r.since_at
    from redo r
    semi join course_state_folded c
      on c.learner_key = r.learner_key and c.course_key = r.course_key
     and c.last_activity_at >= r.since_at
),
history as (  -- every event of a redo pair from its since_at on: pending, and folded of `old`
    select n.learner_key, n.course_key, n.action, n.occurred_at
    from new n
    semi join redo r on n.learner_key = r.learner_key and n.course_key = r.course_key
     and n.occurred_at >= r.since_at
    union all
    select e.learner_key, e.course_key, e.action, e.occurred_at
    from learning_events e
    semi join old r on e.learner_key = r.learner_key and e.course_key = r.course_key
     and e.occurred_at >= r.since_at
    where e.stored_seq < since and e.action <> 'inactivity_flagged'
),
lessons as (  -- the steps from the history, or as folded or pending where they are earlier
    -- (events before since_at: with the enrolment unmoved, its start and lesson steps
    -- are those already merged)
    select r.learner_key, r.course_key, least(r.enrolled_at, r.new_enrolled) as enrolled_at,
           least(min(h.occurred_at) filter (where h.action <> 'enrolled'),
                 r.started_at, r.new_started) as started_at,
           least(min(h.occurred_at) filter (where h.action = 'lesson_completed'),
                 r.lesson_at, r.new_lesson) as lesson_at
    from redo r
    left join history h on h.learner_key = r.learner_key and h.course_key = r.course_key
         and h.occurred_at >= least(r.enrolled_at, r.new_enrolled)
    group by r.learner_key, r.course_key, r.enrolled_at, r.new_enrolled, r.started_at,
             r.new_started, r.lesson_at, r.new_lesson
),
redone as (  -- the course step: at or after the lesson step, which is at or after since_at
    select s.learner_key, s.course_key, s.enrolled_at, s.started_at, s.lesson_at,
           min(h.occurred_at) as course_at
    from lessons s
    left join history h on h.learner_key = s.learner_key and h.course_key = s.course_key
         and h.action = 'course_completed' and h.occurred_at >= s.lesson_at
    group by all
),
pending as (
    select t.learner_key, t.course_key,
           coalesce(r.enrolled_at, t.enrolled_at) as enrolled_at,
           case when r.learner_key is null then least(t.started_at, t.new_started)
                else r.started_at end as started_at,
           case when r.learner_key is null then t.lesson_at else r.lesson_at end as lesson_at,
           case when r.learner_key is null then least(t.course_at, t.new_course)
                else r.course_at end as course_at
    from touched t
    left join redone r on r.learner_key = t.learner_key and r.course_key = t.course_key
)
select coalesce(p.learner_key, f.learner_key) as learner_key,
       coalesce(p.course_key, f.course_key) as course_key,
       coalesce(p.enrolled_at, f.enrolled_at) as enrolled_at,
       case when p.learner_key is null then f.started_at else p.started_at end as started_at,
       case when p.learner_key is null then f.lesson_at else p.lesson_at end as lesson_at,
       case when p.learner_key is null then f.course_at else p.course_at end as course_at,
       p.learner_key is not null as unfolded
from ordered_steps_folded f
full join pending p on f.learner_key = p.learner_key and f.course_key = p.course_key
where coalesce(p.enrolled_at, f.enrolled_at) is not null;  -- never enrolled: not in the funnel

comment on macro table ordered_steps is
    'ordered_steps(since): per enrolled learner and course, the first enrolment and the first start, lesson completion and course completion after it, in order: the folded state merged with the learning events stored from stored_seq `since` on (fold_since() at read time).';

-- A store made before this table had its rows before fold_since() folded already: all of
-- them are merged in once, here, when the table is still empty (every pair is then redone
-- from its events, so merging the pending ones too changes nothing). On any other store
-- `since` is past every row: nothing is read.
insert into ordered_steps_folded by name
select learner_key, course_key, enrolled_at, started_at, lesson_at, course_at
from ordered_steps((select case when count(*) = 0 then 0 else 9223372036854775807 end
                    from ordered_steps_folded))
where unfolded;
