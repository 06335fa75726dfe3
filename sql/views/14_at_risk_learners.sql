create or replace view at_risk_learners as
-- Aggregate first (each learner's latest activity per course and the current state of the
-- course, one row of course_state), then filter: filtering events first would report a
-- learner inactive on the strength of an old event while a newer one exists.
with newest as (
    select max(occurred_at) as newest from learning_events
)
select s.learner_key,
       s.course_key,
       s.last_activity_at,
       floor(epoch(n.newest - s.last_activity_at) / 86400)::integer as days_inactive
from course_state(fold_since()) s
cross join newest n
where not coalesce(s.done, false)
  and s.last_activity_at < n.newest - interval 7 day;

comment on view at_risk_learners is
    'Learners who have not completed the course now and whose last activity on it is more than 7 days before the newest event in the store.';
comment on column at_risk_learners.days_inactive is
    'Whole days from the last activity to the newest event in the store (not to now: a paused feed does not inflate it).';
comment on column at_risk_learners.last_activity_at is
    'Latest occurred_at of an active event on the course (any learning event but inactivity_flagged).';
