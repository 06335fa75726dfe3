create or replace view at_risk_learners as
-- Aggregate first (each learner's latest activity per course, in learner_course_progress),
-- then filter: filtering events first would report a learner inactive on the strength of
-- an old event while a newer one exists.
with newest as (
    select max(occurred_at) as newest from learning_events
)
select p.learner_key,
       p.course_key,
       p.last_activity_at,
       floor(epoch(n.newest - p.last_activity_at) / 86400)::integer as days_inactive
from learner_course_progress p
cross join newest n
where not p.course_completed
  and p.last_activity_at < n.newest - interval 7 day;

comment on view at_risk_learners is
    'Learners who have not completed the course now and whose last activity on it is more than 7 days before the newest event in the store.';
comment on column at_risk_learners.days_inactive is
    'Whole days from the last activity to the newest event in the store (not to now: a paused feed does not inflate it).';
