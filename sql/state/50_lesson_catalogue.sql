-- grain: course_key, lesson_key
-- erased by: lessons
-- One current state: lesson_catalogue_folded (as of the last fold), the macro
-- lesson_catalogue(since) that merges the events not folded yet into it. The lines above (the
-- key columns, and which rows an erasure refolds: the touched lessons') are read by
-- consumer/store/state.py, which folds and refolds every state alike.
-- Per course and lesson, as of the last fold (see lesson_catalogue): the latest name and
-- module sent, each with the event_order it came from. One row per known lesson.
create table if not exists lesson_catalogue_folded (
    course_key   varchar not null,
    lesson_key   varchar not null,
    lesson_name  varchar,
    name_order   hugeint,
    module_key   varchar,
    module_order hugeint
);

comment on table lesson_catalogue_folded is
    'Internal: per course and lesson, the latest name and module sent (with the event_order they came from) as of the last fold; read it through lesson_catalogue.';

create or replace macro lesson_catalogue(since) as table
-- Every lesson any event has named, per course, with the latest name and module sent (by
-- event_order): the folded table merged with the events stored from `since` on
-- (fold_since() at read time), as lesson_state does for learners. A course's known
-- lessons, and lesson names, without a pass over every event.
with new as (
    select course_key, lesson_key,
           arg_max(lesson_name, o) filter (where lesson_name is not null) as lesson_name,
           max(o) filter (where lesson_name is not null) as name_order,
           arg_max(module_key, o) filter (where module_key is not null) as module_key,
           max(o) filter (where module_key is not null) as module_order
    from (select course_key, lesson_key, lesson_name, module_key,
                 event_order(occurred_at, kafka_partition, kafka_offset) as o
          from learning_events
          where stored_seq >= since and course_key is not null and lesson_key is not null)
    group by all
)
select course_key, lesson_key,
       later(f.lesson_name, f.name_order, n.lesson_name, n.name_order) as lesson_name,
       greatest(f.name_order, n.name_order) as name_order,
       later(f.module_key, f.module_order, n.module_key, n.module_order) as module_key,
       greatest(f.module_order, n.module_order) as module_order,
       n.course_key is not null as unfolded
from lesson_catalogue_folded f
full join new n using (course_key, lesson_key);

comment on macro table lesson_catalogue is
    'lesson_catalogue(since): every lesson named by an event, per course, with the latest name and module sent: the folded catalogue merged with the learning events stored from stored_seq `since` on.';
