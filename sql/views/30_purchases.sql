create or replace view purchases as
-- One row per invoice and product it names: the MyEduzz invoice's current status by the
-- current-state rule (its latest invoice_* event by event_order: paid then refunded is
-- refunded, whatever the arrival order) and the seller, buyer and items of that event, from
-- invoice_state (the folded state with the invoice events not folded yet merged in).
with lines as (
    select invoice_id, school_key, buyer_key, status, paid_at, refund_asked_at, status_at,
           currency, amount as invoice_amount, len(product_ids) as products,
           unnest(product_ids) as product_id,
           unnest(coalesce(product_amounts, [])) as item_amount
    from invoice_state(commerce_fold_since())
),
mapped as (select distinct school_key, product_id from product_courses)
select l.school_key, l.invoice_id, l.product_id, l.buyer_key, l.status, l.paid_at,
       l.refund_asked_at,
       case when l.status = 'refunded' then l.status_at end as refunded_at,
       coalesce(l.item_amount, case when l.products = 1 then l.invoice_amount end) as amount,
       l.currency,
       m.product_id is not null as mapped
from lines l
left join mapped m using (school_key, product_id)
where l.product_id is not null;

comment on view purchases is
    'One row per MyEduzz invoice and product it names: current status (latest invoice event by occurred_at, then arrival), when it was paid, refund asked and refunded, the product''s amount.';
comment on column purchases.school_key is 'The seller, myeduzz:<producer id>, as the latest invoice event names it.';
comment on column purchases.invoice_id is 'The MyEduzz invoice id.';
comment on column purchases.product_id is 'One product of the invoice (items[].productId).';
comment on column purchases.buyer_key is
    'The buyer, by the learner_key rule: matches learning_events.learner_key of the same person.';
comment on column purchases.status is
    'Current status: that of the invoice''s latest invoice_* event (by occurred_at, then arrival).';
comment on column purchases.paid_at is
    'occurred_at of the invoice''s first event with status paid; null if never paid.';
comment on column purchases.refund_asked_at is
    'occurred_at of the first waiting_refund or refunded event: when the buyer asked.';
comment on column purchases.refunded_at is
    'occurred_at of the latest event when it says refunded (refunded now); else null.';
comment on column purchases.amount is
    'DECIMAL: the item''s price; the invoice total when the invoice has one product and no item price; else null.';
comment on column purchases.currency is 'The invoice''s currency (amounts are never summed across currencies).';
comment on column purchases.mapped is
    'Whether product_courses maps this seller''s product to courses; else views fall back to the buyer''s activity on the seller''s platforms.';
