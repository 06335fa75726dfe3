create or replace view purchase_steps as
-- One row per paid purchase (invoice x product) and funnel group: each mapped course of the
-- product, or for a product without a mapping one group (course_key null) over the buyer's
-- courses on the seller's platforms. The furthest step reached in order there, and whether
-- the purchase is still inside the funnel's 30-day window at the newest stored event. From
-- the folded purchase_state: a mapped course's row is its group, only the fallback rows are
-- grouped per purchase.
with newest as (
    select greatest((select max(occurred_at) from learning_events),
                    (select max(occurred_at) from commerce_events)) as as_of
),
rows as (
    select s.school_key, s.product_id, s.course_key, s.mapped, s.invoice_id, s.item, s.paid_at,
           purchase_step(s.first_activity_at, s.lessons_completed, coalesce(k.lessons, 0),
                         s.course_completed) as step
    from purchase_rows(commerce_fold_since()) s
    left join course_lessons_known k using (course_key)
    where s.product_id is not null
),
groups as (  -- a mapped course's row is its own group: only the fallback rows are grouped
    select school_key, product_id, course_key, mapped, invoice_id, paid_at, step
    from rows
    where mapped
    union all
    select any_value(school_key), any_value(product_id), null, false, invoice_id,
           any_value(paid_at), max(step)
    from rows
    where not mapped
    group by invoice_id, item
)
-- Thirty days as microseconds (the oracle's 30 x 24 h): `paid_at + interval 30 day` is
-- calendar arithmetic in the session's time zone (off by an hour across a DST change there)
-- and cost 0.13 CPU s over 1.1M purchases.
select school_key, product_id, course_key, mapped, invoice_id, paid_at,
       epoch_us(paid_at) > (select epoch_us(as_of) - 30 * 86400000000 from newest) as in_window,
       step
from groups;

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
