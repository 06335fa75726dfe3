create or replace view engagement_daily_all as
-- engagement_daily across all courses: a learner active on two courses the same day counts
-- once (summing engagement_daily's rows over courses would count them twice). The same
-- covers as engagement_daily, per learner instead of per learner and course: a learner's
-- active day covers the days up to their next active day on any course, at most 7 (wau)
-- or 30 (mau), so the counts are running sums of +1 where a cover starts and -1 where it
-- ends; the consumer keeps those terms per day (engagement_changes, course_key null). Days
-- in the reporting zone America/Sao_Paulo, as engagement_daily.
with running as (
    select day, dau, events,
           sum(week_change) over w as wau,
           sum(month_change) over w as mau
    from engagement_changes(fold_since())
    where course_key is null
    window w as (order by day rows unbounded preceding)
)
select day, dau::bigint as dau, wau::bigint as wau, mau::bigint as mau,
       events::bigint as events,
       dau / mau as stickiness
from running
where dau > 0;

comment on view engagement_daily_all is
    'One row per day with activity on any course (reporting zone America/Sao_Paulo): distinct active learners that day, in the trailing 7 and 30 days, each learner counted once across courses; and stickiness (dau / mau).';
comment on column engagement_daily_all.day is 'Calendar day in America/Sao_Paulo.';
comment on column engagement_daily_all.dau is
    'Distinct learners with an active event (any but inactivity_flagged) on any course that day.';
comment on column engagement_daily_all.wau is
    'Distinct learners active on any course in the 7 days ending on day (inclusive).';
comment on column engagement_daily_all.mau is
    'Distinct learners active on any course in the 30 days ending on day (inclusive).';
comment on column engagement_daily_all.events is
    'Active events that day on all courses (inactivity_flagged is not activity).';
comment on column engagement_daily_all.stickiness is
    'dau / mau: the share of the month''s active learners who were active that day.';
