create or replace view course_names as
-- Its own pass, grouping by course alone (nearly free), so views that need only the name
-- do not pay for `courses`' distinct-learner count.
select course_key,
       arg_max(course_name, event_order(occurred_at, kafka_partition, kafka_offset))
           filter (where course_name is not null) as course_name
from learning_events
where course_key is not null
group by all;

comment on view course_names is
    'The latest name sent for each course (by occurred_at, then arrival): one row per course.';
comment on column course_names.course_name is
    'The latest non-null course_name sent, by occurred_at then Kafka position.';
