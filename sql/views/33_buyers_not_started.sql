create or replace view buyers_not_started as
-- Purchases paid and still paid now (not refunded, not waiting for a refund) whose buyer has
-- no active learning event since payment on any course the purchase leads to
-- (purchase_state, folded). Days count to the newest stored event, not to the clock, so a
-- paused feed does not age them; inside the 7-day withdrawal period of CDC Art. 49 the buyer
-- can still cancel, and the producer can still act.
with newest as (
    select greatest((select max(occurred_at) from learning_events),
                    (select max(occurred_at) from commerce_events)) as as_of
),
rows as (
    select school_key, invoice_id, item, product_id, buyer_key, mapped, paid_at,
           first_activity_at, sole_course(mapped, school_key, product_id) as sole
    from purchase_rows(commerce_fold_since())
    where status = 'paid' and product_id is not null
),
per_purchase as (  -- a purchase with one row is that row; only the others are grouped
    select school_key, invoice_id, product_id, buyer_key, mapped, paid_at
    from rows
    where sole and first_activity_at is null
    union all
    select any_value(school_key), invoice_id, any_value(product_id), any_value(buyer_key),
           any_value(mapped), any_value(paid_at)
    from rows
    where not sole
    group by invoice_id, item
    having count(first_activity_at) = 0
)
-- Seven days as microseconds (7 x 24 h), not calendar days in the session's time zone.
select p.school_key, p.invoice_id, p.product_id, p.buyer_key, p.mapped, p.paid_at,
       floor((epoch_us(n.as_of) - epoch_us(p.paid_at)) / 86400e6)::integer as days_since_payment,
       epoch_us(n.as_of) - epoch_us(p.paid_at) < 7 * 86400000000 as in_withdrawal_period
from per_purchase p
cross join newest n;

comment on view buyers_not_started is
    'One row per purchase (invoice x product) paid and not refunded now whose buyer has no learning activity on its courses since payment (without a mapping: on the seller''s platforms).';
comment on column buyers_not_started.school_key is 'The seller, myeduzz:<producer id>.';
comment on column buyers_not_started.invoice_id is 'The MyEduzz invoice id.';
comment on column buyers_not_started.product_id is 'The product bought.';
comment on column buyers_not_started.buyer_key is 'The buyer, by the learner_key rule.';
comment on column buyers_not_started.mapped is 'Whether the product has courses in product_courses (else the fallback was searched).';
comment on column buyers_not_started.paid_at is 'When the invoice was first paid.';
comment on column buyers_not_started.days_since_payment is
    'Whole days from paid_at to the newest stored event (learning or commerce).';
comment on column buyers_not_started.in_withdrawal_period is
    'Paid less than 7 days before the newest stored event: still inside the CDC Art. 49 withdrawal period.';
