create or replace view purchase_steps as
-- One row per paid purchase (invoice x product) and funnel group: each mapped course of the
-- product, or for a product without a mapping one group (course_key null) over the buyer's
-- courses on the seller's platforms. The furthest step reached in order there, and whether
-- the purchase is still inside the funnel's 30-day window at the newest stored event.
with newest as (
    select greatest((select max(occurred_at) from learning_events),
                    (select max(occurred_at) from commerce_events)) as as_of
),
groups as (  -- grouped before the join: by three keys, not every purchase column
    select invoice_id, product_id, case when mapped then course_key end as course_key,
           max(step) as step
    from purchase_courses
    group by all
)
select p.school_key, p.product_id, g.course_key, p.mapped, p.invoice_id, p.paid_at,
       p.paid_at + interval 30 day > (select as_of from newest) as in_window,
       coalesce(g.step, 1) as step
from purchases p
left join groups g using (invoice_id, product_id)
where p.paid_at is not null;

comment on view purchase_steps is
    'Helper of purchase_funnel: one row per paid purchase and funnel group (a mapped course, or the fallback), with the furthest step reached in order.';
comment on column purchase_steps.school_key is 'The seller, myeduzz:<producer id>.';
comment on column purchase_steps.product_id is 'The product bought.';
comment on column purchase_steps.mapped is 'True: course_key is a mapped course; false: the fallback group (course_key null).';
comment on column purchase_steps.invoice_id is 'The MyEduzz invoice id.';
comment on column purchase_steps.paid_at is 'When the invoice was first paid.';
comment on column purchase_steps.in_window is
    'Paid under 30 days before the newest stored event: not reaching a step yet is not a drop-off.';
comment on column purchase_steps.step is
    'Furthest step reached in order: 1 paid, 2 started, 3 completed_lesson, 4 half_course, 5 completed_course (best of the group''s courses).';
