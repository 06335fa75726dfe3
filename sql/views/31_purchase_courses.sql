create or replace view purchase_courses as
-- One row per paid purchase (invoice x product) and course it leads to: the product's mapped
-- courses (product_courses, a row even without activity); for a product without a mapping,
-- every course its buyer has activity on whose platform is one of the seller's platforms
-- (those of the seller's mapped courses; every platform when the seller has none). The
-- purchase x course rows and the learning since payment are folded (purchase_state); the
-- course's known lessons (lesson_catalogue) and the progress when a refund was asked
-- (refund_progress) are read now, since any learner's events move them.
with rows as (
    select invoice_id, item, product_id, course_key, buyer_key, mapped, paid_at,
           refund_asked_at, first_activity_at, lessons_completed, course_completed
    from purchase_rows(commerce_fold_since())
    where course_key is not null
),
measured as (  -- the progress when asked, for the rows with a request: one left join (a
    -- split by request made DuckDB copy every row first, as in refunds_by_progress)
    select r.* exclude (refund_asked_at, buyer_key),
           case when r.refund_asked_at is null then 0 else coalesce(a.lessons, 0) end
               as lessons_completed_when_asked
    from rows r
    left join refund_asked_lessons a
      on a.invoice_id = r.invoice_id and a.buyer_key = r.buyer_key
     and a.course_key = r.course_key
)
select m.invoice_id, m.product_id, m.course_key, m.mapped, m.paid_at, m.first_activity_at,
       m.lessons_completed, m.lessons_completed_when_asked,
       coalesce(k.lessons, 0) as lessons_known, m.course_completed,
       purchase_step(m.first_activity_at, m.lessons_completed, coalesce(k.lessons, 0),
                     m.course_completed) as step
from measured m
left join course_lessons_known k on k.course_key = m.course_key;

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
