-- One row per decoded learning event (per course when an event names several courses).
create table if not exists learning_events (
    event_uid       varchar not null,
    platform        varchar not null,
    event_type      varchar not null,
    action          varchar not null,
    occurred_at     timestamptz not null,
    received_at     timestamptz not null,
    school_key      varchar,
    school_name     varchar,
    learner_key     varchar,
    learner_id      varchar,
    learner_email   varchar,
    learner_name    varchar,
    course_key      varchar,
    course_name     varchar,
    module_key      varchar,
    module_name     varchar,
    lesson_key      varchar,
    lesson_name     varchar,
    progress        double,
    rating          double,
    comment         varchar,
    -- Arrival order, the tie-break of the current-state rule (data-model.md section 6).
    kafka_partition integer not null,
    kafka_offset    bigint not null,
    -- Internal: the order the store wrote rows in; rows from fold_since() on are not
    -- folded into the current-state tables yet (consumer/store/state.py).
    stored_seq      bigint default 0
);

-- Stores made before stored_seq existed: their rows count as written before any fold.
alter table learning_events add column if not exists stored_seq bigint default 0;

comment on column learning_events.stored_seq is
    'Internal: the order the store wrote this row in (0: before the column existed). Rows from fold_since() on are merged into the current state at read time.';
