create or replace view stickiness as
-- Distinct active days per learner in the 30 days up to the newest event in the store
-- (calendar days in America/Sao_Paulo: the newest event's day and the 29 before it, never
-- a 31st partial day), across all courses.
with newest as (
    select max(occurred_at) as newest from learning_events
)
select d.learner_key, count(distinct d.day) as active_days_30d
from learner_active_days d  -- the folded grouping of events it shares with engagement
cross join newest n
where d.day > cast(timezone('America/Sao_Paulo', n.newest) as date) - 30
group by all;

comment on view stickiness is
    'Per learner: distinct days with activity in the 30 days up to the newest event in the store.';
comment on column stickiness.active_days_30d is
    'Distinct calendar days (America/Sao_Paulo) with an active event on any course, in the 30 days up to the newest event in the store.';
