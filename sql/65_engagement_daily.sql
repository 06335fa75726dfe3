create or replace view engagement_daily as
-- Days are calendar days in the reporting zone America/Sao_Paulo, fixed here so the
-- answer does not depend on the reader's session time zone.
with active as (
    select course_key, learner_key,
           cast(timezone('America/Sao_Paulo', occurred_at) as date) as day
    from learning_events
    where course_key is not null and learner_key is not null
      and action <> 'inactivity_flagged'
),
daily as (
    select course_key, day, count(distinct learner_key) as dau, count(*) as events
    from active
    group by all
)
select d.course_key,
       d.day,
       d.dau,
       count(distinct a.learner_key) filter (where a.day > d.day - 7) as wau,
       count(distinct a.learner_key) as mau,
       d.events
from daily d
join active a on a.course_key = d.course_key and a.day between d.day - 29 and d.day
group by d.course_key, d.day, d.dau, d.events;

comment on view engagement_daily is
    'One row per course and day with activity (reporting zone America/Sao_Paulo): daily, trailing-7-day and trailing-30-day distinct active learners, and active events.';
comment on column engagement_daily.wau is 'Distinct active learners in the 7 days ending on day (inclusive).';
comment on column engagement_daily.mau is 'Distinct active learners in the 30 days ending on day (inclusive).';
comment on column engagement_daily.events is 'Active events that day (inactivity_flagged is not activity).';
