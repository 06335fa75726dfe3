-- grain: invoice_id
-- folds: commerce_events
-- One current state: invoice_state_folded (as of the last fold) and the macro
-- invoice_state(since) that merges the commerce rows not folded yet into it (those it
-- changes, with their folded values, are invoice_changes(since)). The lines above
-- (the key columns, and the table whose rows it folds, from commerce_fold_since() on) are
-- read by consumer/store/state.py, which folds and refolds every state alike.
-- Per MyEduzz invoice, as of the last fold: its latest invoice_* event (by event_order) with
-- what the sales views read of it, and when it was first paid and a refund first asked.
create table if not exists invoice_state_folded (
    invoice_id      varchar not null,
    latest_order    hugeint not null,  -- event_order of the latest invoice event
    school_key      varchar,
    buyer_key       varchar,
    status          varchar,
    status_at       timestamptz not null,  -- occurred_at of the latest invoice event
    currency        varchar,
    amount          decimal(18, 2),
    product_ids     varchar[],
    product_amounts decimal(18, 2)[],
    paid_at         timestamptz,
    refund_asked_at timestamptz
);

comment on table invoice_state_folded is
    'Internal: per MyEduzz invoice, its latest invoice event''s seller, buyer, status and items (with the event_order it came from), first payment and first refund request, as of the last fold; read it through purchases.';

create or replace macro invoice_changes(since) as table
-- The invoices with invoice events stored from stored_seq `since` on (commerce_fold_since():
-- those not folded yet), each as invoice_state has it now, beside what the fold last wrote
-- (was_*: null when never folded). The latest event's fields come whole from the event that
-- orders last (`later` on its event_order), payment and refund request are the earliest
-- seen, so the answer is the same whatever was folded when, and whatever the arrival order.
-- Charge attempts (camelCase statuses of contract charges) and commissions are not invoice
-- events. purchase_rows and refund_progress read the was_* columns to tell an invoice that
-- moved: each read of the folded row is a scan of all 1M (0.1 CPU s), so one, here.
with events as (
    select rowid as r, invoice_id, status, occurred_at,
           event_order(occurred_at, kafka_partition, kafka_offset) as o
    from commerce_events
    where stored_seq >= since and platform = 'myeduzz'
      and event_type like 'myeduzz.invoice_%' and invoice_id is not null
),
grouped as (  -- the latest event found by its rowid: arg_max of one bigint is cheap
    select invoice_id, arg_max(r, o) as latest, max(o) as latest_order,
           min(occurred_at) filter (where status = 'paid') as paid_at,
           min(occurred_at) filter (where status in ('waiting_refund', 'refunded'))
               as refund_asked_at
    from events
    group by invoice_id
),
new as (
    select g.invoice_id, g.latest_order, c.school_key, c.buyer_key, c.status,
           c.occurred_at as status_at, c.currency, c.amount, c.product_ids,
           c.product_amounts, g.paid_at, g.refund_asked_at
    from grouped g
    join commerce_events c on c.rowid = g.latest
)
select invoice_id,
       greatest(f.latest_order, n.latest_order) as latest_order,
       later(f.school_key, f.latest_order, n.school_key, n.latest_order) as school_key,
       later(f.buyer_key, f.latest_order, n.buyer_key, n.latest_order) as buyer_key,
       later(f.status, f.latest_order, n.status, n.latest_order) as status,
       later(f.status_at, f.latest_order, n.status_at, n.latest_order) as status_at,
       later(f.currency, f.latest_order, n.currency, n.latest_order) as currency,
       later(f.amount, f.latest_order, n.amount, n.latest_order) as amount,
       later(f.product_ids, f.latest_order, n.product_ids, n.latest_order) as product_ids,
       later(f.product_amounts, f.latest_order, n.product_amounts, n.latest_order)
           as product_amounts,
       least(f.paid_at, n.paid_at) as paid_at,
       least(f.refund_asked_at, n.refund_asked_at) as refund_asked_at,
       f.school_key as was_school_key, f.buyer_key as was_buyer_key,
       f.product_ids as was_product_ids, f.paid_at as was_paid_at,
       f.refund_asked_at as was_refund_asked_at
from new n
left join (select * from invoice_state_folded  -- the few with new events, not a hash of all
           where invoice_id in (select invoice_id from new)) f using (invoice_id);

comment on macro table invoice_changes is
    'invoice_changes(since): per MyEduzz invoice with invoice events stored from stored_seq `since` on, its state now (as invoice_state) and, in the was_* columns, its seller, buyer, products, payment and refund request as last folded (null when never folded).';

create or replace macro invoice_state(since) as table
-- Current state per MyEduzz invoice (README, What lands in DuckDB): the folded table merged
-- with the invoice events stored from stored_seq `since` on (invoice_changes), then the
-- folded rows without any: a full join hashed every folded row (0.3 s at 1M invoices), even
-- with no new event.
with changed as (
    select * from invoice_changes(since)
)
select columns(lambda c: not starts_with(c, 'was_')), true as unfolded
from changed
union all
select *, false from invoice_state_folded anti join changed using (invoice_id);

comment on macro table invoice_state is
    'invoice_state(since): per MyEduzz invoice, its latest invoice event''s seller, buyer, status and items, first payment and first refund request: the folded state merged with the commerce events stored from stored_seq `since` on (commerce_fold_since() at read time).';
