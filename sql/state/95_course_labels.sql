-- grain: course_key, school_key
-- erased by: courses
-- One current state: course_labels_folded (as of the last fold) and the macro
-- course_labels(since) that merges the events not folded yet into it; the views
-- course_names and course_schools read it. The lines above (the key columns, and which rows
-- an erasure refolds: the touched courses') are read by consumer/store/state.py, which
-- folds, refolds and erases every state alike.
-- Per course and school it was sent under (null: events naming no school), the latest course
-- name and school name sent, each with the event_order it came from: the course list, the
-- names every course view joins and the dashboard's school filter read one row per course
-- and school instead of a pass over every event (0.1-0.3 s each at 10M events).
create table if not exists course_labels_folded (
    course_key   varchar not null,
    school_key   varchar,  -- null: events of the course naming no school
    course_name  varchar,  -- null: none of those events named the course
    name_order   hugeint,
    school_name  varchar,
    school_order hugeint
);

comment on table course_labels_folded is
    'Internal: per course and school, the latest course name and school name sent (with the event_order they came from) as of the last fold; read it through course_names and course_schools.';

create or replace macro course_labels(since) as table
-- The folded table merged with the learning events stored from `since` on (fold_since() at
-- read time) by `later`, as lesson_catalogue does for lessons: the same answer whatever was
-- folded when, in any arrival order. `unfolded` marks the rows those events changed.
with new as (
    select course_key, school_key,
           arg_max(course_name, o) filter (where course_name is not null) as course_name,
           max(o) filter (where course_name is not null) as name_order,
           arg_max(school_name, o) filter (where school_name is not null) as school_name,
           max(o) filter (where school_name is not null) as school_order
    from (select course_key, school_key, course_name, school_name,
                 event_order(occurred_at, kafka_partition, kafka_offset) as o
          from learning_events
          where stored_seq >= since and course_key is not null)
    group by all
)
select coalesce(n.course_key, f.course_key) as course_key,
       coalesce(n.school_key, f.school_key) as school_key,
       later(f.course_name, f.name_order, n.course_name, n.name_order) as course_name,
       greatest(f.name_order, n.name_order) as name_order,
       later(f.school_name, f.school_order, n.school_name, n.school_order) as school_name,
       greatest(f.school_order, n.school_order) as school_order,
       n.course_key is not null as unfolded
from course_labels_folded f
full join new n
  on f.course_key = n.course_key and f.school_key is not distinct from n.school_key;

comment on macro table course_labels is
    'course_labels(since): per course and school, the latest course name and school name sent: the folded state merged with the learning events stored from stored_seq `since` on (fold_since() at read time).';

-- A store made before this table had its rows before fold_since() folded already: all of
-- them are merged in once, here, when the table is still empty (merging a row twice changes
-- nothing). On any other store `since` is past every row: nothing is read.
insert into course_labels_folded by name
select course_key, school_key, course_name, name_order, school_name, school_order
from course_labels((select case when count(*) = 0 then 0 else 9223372036854775807 end
                    from course_labels_folded))
where unfolded;
