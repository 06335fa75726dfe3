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
