create or replace view courses as
-- One row per course seen in learning_events: the name from course_names, the learner count
-- from course_state (one row per learner and course already).
with learners as (
    select course_key, count(*) as learners from course_state(fold_since()) group by all
)
select n.course_key,
       split_part(n.course_key, ':', 1) as platform,
       n.course_name,
       coalesce(l.learners, 0) as learners
from course_names n
left join learners l using (course_key);

comment on view courses is 'One row per course: platform, latest name sent, distinct learners.';
comment on column courses.platform is 'The platform part of course_key (alpaclass, nutror, toolzz).';
comment on column courses.course_name is 'The latest name sent (by occurred_at, then arrival).';
comment on column courses.learners is 'Distinct learners with any event on the course.';
