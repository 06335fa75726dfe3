-- The audit trail of `learnstream forget`: one row per request, without personal data.
create table if not exists erasures (
    erased_at       timestamptz not null,
    people          varchar[] not null,
    removed         json not null,
    rewrite_seconds double
);

comment on table erasures is
    'One row per learnstream forget request: when, whom (keyed hashes only) and how many rows each table lost.';
comment on column erasures.people is
    'suppressed_people.person_hash of each person erased by the request.';
comment on column erasures.removed is 'Rows removed per table, as a JSON object.';
comment on column erasures.rewrite_seconds is
    'How long rewriting the file took (so no deleted value stays in its bytes); null until done.';
