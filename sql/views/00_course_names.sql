create or replace view course_names as
-- From the folded course labels (sql/state/95: one row per course and school), so views
-- that need only the name neither pay for `courses`' distinct-learner count nor read every
-- event.
select course_key,
       arg_max(course_name, name_order) filter (where course_name is not null) as course_name
from course_labels(fold_since())
group by all;

comment on view course_names is
    'The latest name sent for each course (by occurred_at, then arrival): one row per course.';
comment on column course_names.course_name is
    'The latest non-null course_name sent, by occurred_at then Kafka position.';
