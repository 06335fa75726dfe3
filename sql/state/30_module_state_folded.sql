-- Current completion per learner and module, as of the last fold (see module_state).
create table if not exists module_state_folded (
    learner_key varchar not null,
    course_key  varchar not null,
    module_key  varchar not null,
    done        boolean not null,
    done_order  hugeint not null
);

comment on table module_state_folded is
    'Internal: per learner and module, the current completion (with the event_order it came from) as of the last fold.';
