create or replace view completion_buckets as
-- A course's known lessons are those any event has named; a learner's share is the lessons
-- completed now over that count, in 10% bins named by their lower bound (0, 10, ..., 100).
-- Every learner of the course has one row in course_state, with the count of lessons
-- completed now; course_lessons_known counts the known lessons.
select s.course_key,
       least(floor(s.lessons_completed / k.lessons * 10) * 10, 100)::integer as bucket,
       count(*) as learners
from course_state(fold_since()) s
join course_lessons_known k using (course_key)
group by all;

comment on view completion_buckets is
    'Per course and 10% bin: learners whose share of the course''s known lessons completed now falls in the bin.';
comment on column completion_buckets.bucket is
    'Lower bound of the bin in percent: 0 means 0-9.99%, 100 means all known lessons.';
comment on column completion_buckets.learners is
    'Learners of the course (any event on it) whose share of known lessons completed now falls in the bin.';
