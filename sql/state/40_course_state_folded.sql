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
