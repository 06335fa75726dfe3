create or replace view purchases as
-- One row per invoice and product it names: the MyEduzz invoice's current status by the
-- current-state rule (its latest invoice_* event by event_order: paid then refunded is
-- refunded, whatever the arrival order) and the seller, buyer and items of that event. Charge
-- attempts (camelCase statuses of contract charges) and commissions are not invoice events.
with invoices as (  -- the latest event found by its rowid: arg_max of one bigint is cheap
    select invoice_id,
           arg_max(rowid, event_order(occurred_at, kafka_partition, kafka_offset)) as latest,
           min(occurred_at) filter (where status = 'paid') as paid_at,
           min(occurred_at) filter (where status in ('waiting_refund', 'refunded'))
               as refund_asked_at
    from commerce_events
    where platform = 'myeduzz' and event_type like 'myeduzz.invoice_%'
      and invoice_id is not null
    group by invoice_id
),
lines as (
    select i.invoice_id, c.school_key, c.buyer_key, c.status, i.paid_at, i.refund_asked_at,
           c.occurred_at as status_at, c.currency, c.amount as invoice_amount,
           len(c.product_ids) as products,
           unnest(c.product_ids) as product_id,
           unnest(coalesce(c.product_amounts, [])) as item_amount
    from invoices i
    join commerce_events c on c.rowid = i.latest
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
