create or replace macro rows_if(condition) as
-- A LIMIT that reads every row or none: the largest limit DuckDB takes when `condition`
-- holds, else 0. A limit of 0 ends a scan before it starts, where DuckDB would otherwise
-- build a hash table of a whole folded table to probe it with no row (the folded funnel
-- days and pairs, sql/state/93 and 97, and course_funnel_days read them so when nothing,
-- or something, is pending).
    case when condition then 4611686018427387904 else 0 end;

comment on macro rows_if is
    'rows_if(condition): a LIMIT of every row when condition holds, else of none (the folds'' switch between reading a folded table whole or not at all).';
