create or replace macro cover_changes(days) as table
-- The cover change terms (see engagement_changes_folded) of the learner days in the table or
-- view named `days` (sign, learner_key, course_key, day, events), each multiplied by its
-- sign: per course, and for all courses (course_key null) with a learner's days on several
-- courses taken once. Days of no course are not engagement.
with signed as (
    select sign, learner_key, course_key, day, events
    from query_table(days)
    where course_key is not null
),
scopes as (
    select sign, learner_key, course_key, day, events from signed
    union all
    select sign, learner_key, null::varchar, day, sum(events) from signed group by sign, learner_key, day
),
covers as (
    select sign, course_key, day, events,
           coalesce(lead(day) over (partition by sign, course_key, learner_key order by day),
                    day + 30) as next_day
    from scopes
),
terms as (
    select course_key, day, sign as dau, sign * events as events, sign as week_change,
           sign as month_change
    from covers
    union all
    select course_key, least(next_day, day + 7), 0, 0, -sign, 0 from covers
    union all
    select course_key, least(next_day, day + 30), 0, 0, 0, -sign from covers
)
select course_key, day, sum(dau)::bigint as dau, sum(events)::bigint as events,
       sum(week_change)::bigint as week_change, sum(month_change)::bigint as month_change
from terms
group by all;

comment on macro table cover_changes is
    'cover_changes(days): per course (null: all courses) and day, the signed sums of the active learners, events and trailing-window change terms of the learner days in the relation named `days`.';
