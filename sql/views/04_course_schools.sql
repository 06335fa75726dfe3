create or replace view course_schools as
-- The dashboard's school filter: which school (AlpaClass team, Nutror producer, Toolzz
-- school) each course was sent under. A course is normally under one school, but nothing in
-- the webhooks forbids a move, so a course has one row per school it was ever sent with.
select course_key, school_key, school_name  -- from the folded labels (sql/state/95)
from course_labels(fold_since())
where school_key is not null;

comment on view course_schools is
    'One row per course and school it was sent under, with the latest name sent for the school.';
comment on column course_schools.school_name is
    'The latest non-null school_name sent with this course and school (by occurred_at, then Kafka position).';
comment on column course_schools.school_key is
    'The school as `<platform>:<id>` (AlpaClass team id, Nutror producer e-mail, Toolzz school id).';
