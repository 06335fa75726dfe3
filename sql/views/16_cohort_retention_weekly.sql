create or replace view cohort_retention_weekly as
-- Weeks start on Monday, in the reporting zone America/Sao_Paulo (fixed here).
-- Each learner's active weeks are folded by the consumer as one ascending list
-- (sql/state/98_learner_activity.sql: one row per learner); the first is the cohort week,
-- so cohorts and counts come from one row per learner, with no grouping by learner or
-- join back to the cohorts.
with learners as (
    select weeks[1] as cohort_week, weeks from learner_activity(fold_since())
),
sizes as (
    select cohort_week, count(*) as cohort_size from learners group by all
),
active as (
    select cohort_week, (week - cohort_week) // 7 as week_number,
           count(*) as active_learners
    from (select cohort_week, unnest(weeks) as week from learners)
    group by all
)
select a.cohort_week, a.week_number, s.cohort_size, a.active_learners,
       a.active_learners / s.cohort_size as retention
from active a
join sizes s using (cohort_week);

comment on view cohort_retention_weekly is
    'Learners grouped by the week of their first activity (any course): how many were active in each week since (week_number 0 is the first week).';
comment on column cohort_retention_weekly.retention is 'active_learners / cohort_size.';
comment on column cohort_retention_weekly.cohort_week is
    'Monday (America/Sao_Paulo) of the week of the learner''s first active event on any course.';
comment on column cohort_retention_weekly.week_number is
    'Weeks after the cohort week: 0 is the cohort week itself.';
comment on column cohort_retention_weekly.cohort_size is
    'Learners whose first active week is cohort_week.';
comment on column cohort_retention_weekly.active_learners is
    'Learners of the cohort with an active event (any but inactivity_flagged) in that week.';
