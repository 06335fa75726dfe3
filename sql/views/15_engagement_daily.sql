create or replace view engagement_daily as
-- Days are calendar days in the reporting zone America/Sao_Paulo, fixed here so the
-- answer does not depend on the reader's session time zone.
-- Trailing distinct counts without joining days to events: a learner's active day on a
-- course covers the days from it until their next active day there, at most 7 (wau) or 30
-- (mau) days; those covers never overlap, so a learner counts once on each day their
-- window includes, and the count per day is a running sum of +1 where a cover starts and
-- -1 where it ends. The consumer keeps those terms per course and day as a folded state
-- (engagement_changes, sql/state/92): this reads one row per course and day.
with running as (
    select course_key, day, dau, events,
           sum(week_change) over w as wau,
           sum(month_change) over w as mau
    from engagement_changes(fold_since())
    where course_key is not null
    window w as (partition by course_key order by day rows unbounded preceding)
)
select course_key, day, dau::bigint as dau, wau::bigint as wau, mau::bigint as mau,
       events::bigint as events
from running
where dau > 0;

comment on view engagement_daily is
    'One row per course and day with activity (reporting zone America/Sao_Paulo): daily, trailing-7-day and trailing-30-day distinct active learners, and active events.';
comment on column engagement_daily.wau is 'Distinct active learners in the 7 days ending on day (inclusive).';
comment on column engagement_daily.mau is 'Distinct active learners in the 30 days ending on day (inclusive).';
comment on column engagement_daily.events is 'Active events that day (inactivity_flagged is not activity).';
comment on column engagement_daily.day is 'Calendar day in America/Sao_Paulo.';
comment on column engagement_daily.dau is
    'Distinct learners with an active event (any but inactivity_flagged) on the course that day.';
