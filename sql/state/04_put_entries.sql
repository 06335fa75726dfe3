create or replace macro put_entries(folded, days, changed) as
-- put_days for lists of {day, ...} entries, one per day, sorted by day: the entries of
-- `days` replaced by those in `changed` (sql/state/97).
    list_sort(list_concat(
        list_filter(coalesce(folded, []), lambda x: not list_contains(days, x.day)),
        changed));

comment on macro put_entries is
    'put_entries(folded, days, changed): the folded list of {day, ...} entries without those of `days`, plus `changed`, sorted by day (a fold replacing recomputed days).';
