-- Current state per learner and lesson, as of the last fold (see lesson_state). Each
-- "latest event wins" value keeps the event_order of the event it came from, so events
-- folded later, in any order, replace it only if they order after it.
create table if not exists lesson_state_folded (
    learner_key     varchar not null,
    course_key      varchar,  -- an AlpaClass lesson event may name no course
    lesson_key      varchar not null,
    completed       boolean,  -- null: no completed/uncompleted event yet
    completed_order hugeint,
    favorite        boolean,  -- null: no favourite/unfavourite event yet
    favorite_order  hugeint,
    seen            boolean not null
);

comment on table lesson_state_folded is
    'Internal: per learner and lesson, the current completion and favourite (with the event_order they came from) as of the last fold; read it through learner_lesson_state.';
