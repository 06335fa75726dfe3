create or replace view courses as
-- One row per course seen in learning_events; the name is the latest one sent.
select course_key,
       split_part(course_key, ':', 1) as platform,
       arg_max(course_name, event_order(occurred_at, kafka_partition, kafka_offset))
           filter (where course_name is not null) as course_name,
       count(distinct learner_key) as learners
from learning_events
where course_key is not null
group by all;

comment on view courses is 'One row per course: platform, latest name sent, distinct learners.';
comment on column courses.platform is 'The platform part of course_key (alpaclass, nutror, toolzz).';
comment on column courses.course_name is 'The latest name sent (by occurred_at, then arrival).';
comment on column courses.learners is 'Distinct learners with any event on the course.';
