-- When the published snapshot (<data-dir>/analytics.duckdb) was taken: one row, rewritten
-- just before each copy under the writer's lock, so the copy carries its own time.
create table if not exists snapshots (
    id    integer primary key default 1 check (id = 1),
    as_of timestamptz not null
);
