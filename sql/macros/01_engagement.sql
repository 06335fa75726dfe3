create or replace macro engagement(as_of) as table
-- engagement_daily for one moment: per course, the day of as_of (reporting zone
-- America/Sao_Paulo) with dau, trailing wau and mau, counting only events up to as_of.
with active as (
    select course_key, learner_key,
           cast(timezone('America/Sao_Paulo', occurred_at) as date) as day
    from learning_events
    where course_key is not null and learner_key is not null
      and action <> 'inactivity_flagged' and occurred_at <= as_of::timestamptz
),
today as (
    select cast(timezone('America/Sao_Paulo', as_of::timestamptz) as date) as day
)
select a.course_key,
       t.day,
       count(distinct a.learner_key) filter (where a.day = t.day) as dau,
       count(distinct a.learner_key) filter (where a.day > t.day - 7) as wau,
       count(distinct a.learner_key) as mau
from active a
cross join today t
where a.day > t.day - 30
group by all;

comment on macro table engagement is
    'engagement(as_of): per course, distinct active learners on the day of as_of, in the 7 and 30 days ending then (events after as_of do not count).';
