create or replace view lesson_engagement as
-- Event counts from one pass over the lesson events; the learners with a lesson completed
-- and favourite now from learner_lesson_state (one row per learner and lesson).
with per_lesson as (
    select lesson_key,
           count(*) filter (where action = 'lesson_rated') as ratings,
           avg(rating) filter (where action = 'lesson_rated' and rating is not null)
               as avg_rating,
           count(*) filter (where action = 'comment_created') as comments
    from learning_events
    where lesson_key is not null
    group by all
),
current_state as (
    select lesson_key,
           count(*) filter (where completed) as completions,
           count(*) filter (where favorite) as favorites
    from learner_lesson_state
    group by all
)
select p.lesson_key,
       coalesce(c.completions, 0) as completions,
       coalesce(c.favorites, 0) as favorites,
       p.ratings,
       p.avg_rating,
       p.comments
from per_lesson p
left join current_state c using (lesson_key);

comment on view lesson_engagement is
    'One row per lesson: learners who have it completed and as a favourite now, ratings (count and mean) and comments.';
comment on column lesson_engagement.completions is
    'Learners whose latest completed/uncompleted event for the lesson is a completion.';
comment on column lesson_engagement.favorites is
    'Learners whose latest favourite/unfavourite event for the lesson is a favourite.';
comment on column lesson_engagement.ratings is
    'lesson_rated events on the lesson (every rating event, not distinct learners).';
comment on column lesson_engagement.avg_rating is
    'Mean rating of the lesson_rated events that carried one; null when none did.';
comment on column lesson_engagement.comments is 'comment_created events on the lesson.';
