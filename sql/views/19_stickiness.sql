create or replace view stickiness as
-- Distinct active days per learner in the 30 days up to the newest event in the store
-- (calendar days in America/Sao_Paulo: the newest event's day and the 29 before it, never
-- a 31st partial day), across all courses.
with newest as (
    select cast(timezone('America/Sao_Paulo', max(occurred_at)) as date) as day
    from learning_events
)
select learner_key, active_days_30d
from (select a.learner_key,
             len(list_filter(a.days, lambda d: d > n.day - 30)) as active_days_30d
      -- each learner's active days as one folded list (sql/state/98), not one row per
      -- learner, course and day grouped by learner
      from learner_activity(fold_since()) a
      cross join newest n)
where active_days_30d > 0;

comment on view stickiness is
    'Per learner: distinct days with activity in the 30 days up to the newest event in the store.';
comment on column stickiness.active_days_30d is
    'Distinct calendar days (America/Sao_Paulo) with an active event on any course, in the 30 days up to the newest event in the store.';
