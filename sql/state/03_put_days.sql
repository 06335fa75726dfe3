create or replace macro put_days(folded, days, changed) as
-- A folded ascending list of days with `days` replaced: those of them in `changed` put in,
-- the others taken out (a day a fold recomputed replaces its folded entry, sql/state/97).
    list_sort(list_concat(
        list_filter(coalesce(folded, []), lambda d: not list_contains(days, d)), changed));

comment on macro put_days is
    'put_days(folded, days, changed): the folded ascending list of days without `days`, plus `changed`, sorted (a fold replacing recomputed days).';
