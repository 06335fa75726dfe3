create or replace view course_lessons_known as
-- grain: course_key
-- The denominator of every progress share (completion_buckets and the sales views): a
-- course's known lessons are those any stored event has named (lesson_catalogue), since no
-- platform sends a course's syllabus. One place, so every share divides by the same count.
select course_key, count(*) as lessons
from lesson_catalogue(fold_since())
group by all;

comment on view course_lessons_known is
    'One row per course with a known lesson: how many lessons any stored event names on it.';
comment on column course_lessons_known.lessons is
    'Distinct lessons of the course named by any stored learning event.';
