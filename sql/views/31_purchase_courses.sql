create or replace view purchase_courses as
-- One row per paid purchase (invoice x product, paid_at set) and course it leads to: the
-- product's mapped courses (product_courses, a row even without activity); for a product
-- without a mapping, every course its buyer has activity on whose platform is one of the
-- seller's platforms (those of the seller's mapped courses; every platform when the seller
-- has none). Learning state comes from course_state, progress when a refund was asked from
-- refund_progress (both folded); the first activity since payment needs the events only for
-- pairs active both before and after the payment.
with paid as materialized (  -- each read more than once: computed once
    select * from purchases where paid_at is not null
),
seller_platforms as (
    select distinct school_key, split_part(course_key, ':', 1) as platform
    from product_courses
),
state as materialized (
    select learner_key, course_key, first_activity_at, last_activity_at, lessons_completed,
           coalesce(done, false) as done
    from course_state(fold_since())
),
linked as (
    select p.invoice_id, p.product_id, p.buyer_key, p.paid_at, p.refund_asked_at, p.mapped,
           m.course_key
    from paid p join product_courses m using (school_key, product_id)
    where p.mapped
    union all
    select p.invoice_id, p.product_id, p.buyer_key, p.paid_at, p.refund_asked_at, p.mapped,
           s.course_key
    from paid p join state s on s.learner_key = p.buyer_key
    left join seller_platforms sp
      on sp.school_key = p.school_key and sp.platform = split_part(s.course_key, ':', 1)
    where not p.mapped
      and (sp.platform is not null
           or p.school_key is null
           or p.school_key not in (select school_key from seller_platforms))
),
joined as materialized (
    select l.*, s.first_activity_at, s.last_activity_at,
           coalesce(s.lessons_completed, 0) as lessons_completed, coalesce(s.done, false) as done
    from linked l left join state s on s.learner_key = l.buyer_key and s.course_key = l.course_key
),
straddling as (  -- active before and after the payment: the first event since it, exactly
    -- The semi join on one hash of the pair picks those few pairs' events in one cheap pass
    -- over learning_events before the exact join (a plain join hashed every event's keys).
    select j.invoice_id, j.product_id, j.course_key, min(e.occurred_at) as first_after
    from (select * from joined
          where first_activity_at < paid_at and last_activity_at >= paid_at) j
    join (select learner_key, course_key, occurred_at from learning_events
          where action <> 'inactivity_flagged'
            and hash(learner_key, course_key) in (
                select hash(buyer_key, course_key) from joined
                where first_activity_at < paid_at and last_activity_at >= paid_at)) e
      on e.learner_key = j.buyer_key and e.course_key = j.course_key
     and e.occurred_at >= j.paid_at
    group by all
),
asked as (  -- lessons completed before the refund was asked: folded in refund_progress
    select j.invoice_id, j.product_id, j.course_key, count(*) as lessons
    from joined j
    join refund_progress(commerce_fold_since()) r
      on r.invoice_id = j.invoice_id and r.buyer_key = j.buyer_key
     and r.course_key = j.course_key
    where j.refund_asked_at is not null and r.completed
    group by all
),
known as (
    select course_key, count(*) as lessons from lesson_catalogue(fold_since()) group by all
),
measured as (
    select j.invoice_id, j.product_id, j.course_key, j.mapped, j.paid_at,
           case when j.first_activity_at >= j.paid_at then j.first_activity_at
                else st.first_after end as first_activity_at,
           j.lessons_completed,
           coalesce(a.lessons, 0) as lessons_completed_when_asked,
           coalesce(k.lessons, 0) as lessons_known,
           j.done as course_completed
    from joined j
    left join straddling st using (invoice_id, product_id, course_key)
    left join asked a using (invoice_id, product_id, course_key)
    left join known k using (course_key)
)
select *,
       -- each step needs the one before, so a funnel over it never grows
       case when first_activity_at is null then 1
            when lessons_completed = 0 then 2
            when 2 * lessons_completed < lessons_known then 3
            when not course_completed then 4
            else 5 end as step
from measured;

comment on view purchase_courses is
    'Helper of the sales views: one row per paid purchase (invoice x product) and course it leads to (mapped courses, or without a mapping the buyer''s courses on the seller''s platforms), with the learning since payment.';
comment on column purchase_courses.invoice_id is 'The MyEduzz invoice id.';
comment on column purchase_courses.product_id is 'The product bought.';
comment on column purchase_courses.mapped is
    'True: the course comes from product_courses; false: the fallback (buyer''s activity on the seller''s platforms).';
comment on column purchase_courses.paid_at is 'When the invoice was first paid.';
comment on column purchase_courses.first_activity_at is
    'First active learning event (any but inactivity_flagged) of the buyer on the course at or after paid_at; null if none.';
comment on column purchase_courses.lessons_completed is 'Lessons of the course completed now (current state).';
comment on column purchase_courses.lessons_completed_when_asked is
    'Lessons completed by the current-state rule over the events before the refund was asked; 0 when never asked.';
comment on column purchase_courses.lessons_known is 'Lessons any stored event names on the course.';
comment on column purchase_courses.course_completed is 'The course is completed now (current state).';
comment on column purchase_courses.step is
    'Furthest funnel step reached in order: 1 paid, 2 started (activity since payment), 3 a lesson completed now, 4 half the known lessons completed now, 5 course completed now.';
