create or replace view completion_buckets as
-- A course's known lessons are those any event has named; a learner's share is the lessons
-- completed now over that count, in 10% bins named by their lower bound (0, 10, ..., 100).
-- Learners with no lesson completed are the course's learners minus those with some, so
-- only learner_course_state is read per learner; one pass per course gives both counts.
with per_course as (
    select course_key, count(distinct lesson_key) as lessons,
           count(distinct learner_key) as learners
    from learning_events
    where course_key is not null
    group by all
),
completing as (
    select s.course_key,
           least(floor(s.lessons_completed / k.lessons * 10) * 10, 100)::integer as bucket,
           count(*) as learners
    from learner_course_state s
    join per_course k using (course_key)
    where s.lessons_completed > 0
    group by all
),
buckets as (
    select course_key, bucket, learners from completing where bucket > 0
    union all
    select k.course_key, 0,
           k.learners - coalesce(sum(c.learners) filter (where c.bucket > 0), 0)
    from per_course k
    left join completing c using (course_key)
    where k.lessons > 0
    group by k.course_key, k.learners
)
select course_key, bucket, learners::bigint as learners
from buckets
where learners > 0;

comment on view completion_buckets is
    'Per course and 10% bin: learners whose share of the course''s known lessons completed now falls in the bin.';
comment on column completion_buckets.bucket is
    'Lower bound of the bin in percent: 0 means 0-9.99%, 100 means all known lessons.';
comment on column completion_buckets.learners is
    'Learners of the course (any event on it) whose share of known lessons completed now falls in the bin.';
