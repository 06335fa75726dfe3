-- grain: invoice_id
-- folds: commerce_events
-- A fold reads the course state of the buyers of relinked invoices, who may have no pending
-- learning row: purchase_state_learners names them, and the fold's scoped copy of
-- course_state_folded holds their rows too (consumer/store/state.py LEARNERS).
-- One current state: purchase_state_folded (as of the last fold), the macro
-- purchase_rows(since) that brings it up to date with the rows not folded yet (commerce rows
-- from `since` on, learning rows from fold_since() on, product_courses now: what the sales
-- views read), and purchase_state(since), the same with the fold's `unfolded` flag, and
-- purchase_state_touched(since), its rows of the invoices a fold writes back. Read by
-- consumer/store/state.py, which folds and refolds every state alike, as the lines above
-- say: an invoice's rows are replaced together (the grain is the invoice, not the row), so a
-- purchase whose products, seller, buyer or courses changed leaves no row behind.
-- Per paid MyEduzz purchase (invoice x item) and course it leads to (sql/views/31,
-- purchase_courses, says which): the purchase's own columns and its buyer's learning on that
-- course since payment, as of the last fold; one row with course_key null when it leads to
-- none. What every sales view reads instead of joining 1.1M purchases to the learning state.
create table if not exists purchase_state_folded (
    invoice_id        varchar not null,
    item              bigint,   -- position in the invoice's product_ids; null: no purchase
    product_id        varchar,  -- null: the invoice is paid but names no product
    course_key        varchar,  -- null: the purchase leads to no course
    school_key        varchar,
    buyer_key         varchar,
    mapped            boolean,
    paid_at           timestamptz not null,
    status            varchar,
    refund_asked_at   timestamptz,
    refunded_at       timestamptz,
    amount            decimal(18, 2),
    currency          varchar,
    first_activity_at timestamptz,  -- first active event on the course at or after paid_at
    lessons_completed bigint,
    course_completed  boolean
);

comment on table purchase_state_folded is
    'Internal: per paid MyEduzz purchase (invoice x item) and course it leads to, the purchase and its buyer''s learning on the course since payment, as of the last fold; read it through purchase_courses and the sales views.';

create or replace macro purchase_rows(since, whole := true) as table
-- Recomputed whole ("relinked"): the invoices whose buyer, seller, products or payment
-- changed in the commerce rows not folded yet (or that are new), those of sellers whose
-- mapping changed since the last fold (mapping_state), and those of a product without a
-- mapping whose buyer has a course not folded yet (a new fallback course). Merged: the
-- other folded rows of an invoice with commerce rows not folded yet take its status,
-- refund and amount now, and those of a buyer with learning rows not folded yet the buyer's
-- course state now (course_state) and the earliest of those rows since payment (an
-- order-independent rule). Every other folded row is read as it is, so the answer equals a
-- recomputation whatever was folded when and whatever the arrival order. From scratch
-- (`since` before every row: refold, and erasure, which hides the folded tables) every
-- invoice is relinked and the learning comes from the buyers' events. `whole` false (a
-- fold, through purchase_state_touched): only the recomputed and touched rows, and the
-- untouched folded rows of an invoice with a changed row, none of the other folded rows.
with recent as (  -- the learning rows not folded yet: none from scratch (a scalar subquery,
    -- so the scans still skip by stored_seq; an expression of fold_since() read every row)
    select case when since = -9223372036854775808 then 9223372036854775807
                else fold_since() end as seq
),
pairs as materialized (  -- learner x course with learning rows not folded yet, as now
    select learner_key as buyer_key, course_key, first_activity_at, last_activity_at,
           lessons_completed, coalesce(done, false) as done
    from course_state((select seq from recent))
    where unfolded
),
moved as materialized (  -- and when their active rows not folded yet happened
    select p.*, t.times
    from pairs p
    left join (select learner_key, course_key, list(occurred_at) as times
               from learning_events
               where stored_seq >= (select seq from recent) and learner_key is not null
                 and course_key is not null and action <> 'inactivity_flagged'
               group by all) t
      on t.learner_key = p.buyer_key and t.course_key = p.course_key
),
invoices as materialized (  -- paid invoices with commerce rows not folded yet, as now
    select invoice_id, school_key, buyer_key, status, paid_at, refund_asked_at,
           case when status = 'refunded' then status_at end as refunded_at, currency,
           amount, product_ids, product_amounts,
           -- was_*: as folded (invoice_changes reads the folded row once for this and
           -- refund_progress); never folded: null, and paid_at is not, so relinked
           since = -9223372036854775808
           or was_buyer_key is distinct from buyer_key
           or was_school_key is distinct from school_key
           or was_product_ids is distinct from product_ids
           or was_paid_at is distinct from paid_at as relink
    from invoice_changes(since)
    where paid_at is not null
),
candidates as materialized (  -- a fold: the folded rows of a buyer with learning rows not
    -- folded yet or of an invoice with commerce rows not folded yet, found in one pass over
    -- two key columns of the 1.18M rows, where the relinked unmapped purchases and the
    -- touched rows were two passes, one of them over every column (sql/state/81 in README
    -- Performance); the readers (`whole`) keep their plan, without it
    select rowid as r, invoice_id, buyer_key, course_key, mapped
    from purchase_state_folded
    where not whole
      and (buyer_key in (select buyer_key from pairs)
           or invoice_id in (select invoice_id from invoices))
),
new_courses as (  -- buyers with a course not folded yet: a new fallback course
    select buyer_key from pairs
    anti join course_state_folded c
      on c.learner_key = pairs.buyer_key and c.course_key = pairs.course_key
),
relinked as materialized (
    select invoice_id from invoices where relink
    union
    select invoice_id from purchase_state_folded
    where school_key in (select school_key from mapping_state(since) where unfolded)
    union
    select invoice_id from purchase_state_folded
    where whole and not mapped and buyer_key in (select buyer_key from new_courses)
    union  -- a fold: the same from the candidates (new_courses are buyers of pairs)
    select invoice_id from candidates
    where not mapped and buyer_key in (select buyer_key from new_courses)
),
paid as materialized (  -- the relinked invoices now
    select * exclude (relink) from invoices
    where invoice_id in (select invoice_id from relinked)
    union all
    select invoice_id, school_key, buyer_key, status, paid_at, refund_asked_at,
           case when status = 'refunded' then status_at end, currency, amount, product_ids,
           product_amounts
    from invoice_state_folded f
    where paid_at is not null and invoice_id in (select invoice_id from relinked)
      and invoice_id not in (select invoice_id from invoices)
),
lines as (  -- as the purchases view splits an invoice into its products
    select * exclude (amount, product_ids, product_amounts), amount as invoice_amount,
           len(product_ids) as products, unnest(product_ids) as product_id,
           unnest(coalesce(product_amounts, [])) as item_amount,
           generate_subscripts(product_ids, 1) as item
    from paid
),
mapped_products as (select distinct school_key, product_id from product_courses),
purchases as materialized (
    select l.* exclude (invoice_amount, products, item_amount),
           coalesce(l.item_amount, case when l.products = 1 then l.invoice_amount end)
               as amount,
           m.product_id is not null as mapped
    from lines l
    left join mapped_products m using (school_key, product_id)
    where l.product_id is not null
),
events as (  -- from scratch only: the buyers' learning events with a course
    select learner_key, course_key, lesson_key, action, occurred_at,
           event_order(occurred_at, kafka_partition, kafka_offset) as o
    from learning_events
    where since = -9223372036854775808 and course_key is not null
      and learner_key in (select buyer_key from paid)
),
lessons as (  -- from scratch: lessons completed now (latest completed/uncompleted event)
    select learner_key, course_key, count(*) filter (where completed) as lessons_completed
    from (select learner_key, course_key, lesson_key,
                 arg_max(action = 'lesson_completed', o) as completed
          from events
          where lesson_key is not null and action in ('lesson_completed', 'lesson_uncompleted')
          group by all)
    group by all
),
state as materialized (  -- the buyers' learner x course state, as course_state keeps it
    select e.learner_key, e.course_key, e.first_activity_at, e.last_activity_at,
           coalesce(l.lessons_completed, 0) as lessons_completed, e.done
    from (select learner_key, course_key,
                 min(occurred_at) filter (where action <> 'inactivity_flagged')
                     as first_activity_at,
                 max(occurred_at) filter (where action <> 'inactivity_flagged')
                     as last_activity_at,
                 coalesce(arg_max(action = 'course_completed', o)
                              filter (where action in ('course_completed', 'course_uncompleted')),
                          false) as done
          from events
          group by all) e
    left join lessons l using (learner_key, course_key)
    union all  -- else the folded state, and the pairs with learning rows not folded yet
    select learner_key, course_key, first_activity_at, last_activity_at, lessons_completed,
           coalesce(done, false)
    from course_state_folded c
    where since <> -9223372036854775808 and learner_key in (select buyer_key from paid)
      and not exists (select 1 from pairs p
                      where p.buyer_key = c.learner_key and p.course_key = c.course_key)
    union all
    select * from pairs where buyer_key in (select buyer_key from paid)
),
seller_platforms as (
    select distinct school_key, split_part(course_key, ':', 1) as platform
    from product_courses
),
linked as (  -- mapped courses; without a mapping, the buyer's courses on the seller's platforms
    select p.invoice_id, p.item, m.course_key
    from purchases p join product_courses m using (school_key, product_id)
    where p.mapped
    union all
    select p.invoice_id, p.item, s.course_key
    from purchases p join state s on s.learner_key = p.buyer_key
    left join seller_platforms sp
      on sp.school_key = p.school_key and sp.platform = split_part(s.course_key, ':', 1)
    where not p.mapped
      and (sp.platform is not null
           or p.school_key is null
           or p.school_key not in (select school_key from seller_platforms))
),
joined as materialized (
    select p.invoice_id, p.item, p.buyer_key, p.paid_at, l.course_key, s.first_activity_at,
           s.last_activity_at, s.lessons_completed, s.done
    from purchases p
    join linked l using (invoice_id, item)
    left join state s on s.learner_key = p.buyer_key and s.course_key = l.course_key
),
straddling as (  -- active before and after the payment: the first event since it, exactly
    -- The semi join on one hash of the pair picks those few pairs' events in one cheap pass
    -- over learning_events before the exact join.
    select j.invoice_id, j.item, j.course_key, min(e.occurred_at) as first_after
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
recomputed as (
    select p.invoice_id, p.item, p.product_id, j.course_key, p.school_key, p.buyer_key,
           p.mapped, p.paid_at, p.status, p.refund_asked_at, p.refunded_at, p.amount,
           p.currency,
           case when j.first_activity_at >= j.paid_at then j.first_activity_at
                else st.first_after end as first_activity_at,
           coalesce(j.lessons_completed, 0) as lessons_completed,
           coalesce(j.done, false) as course_completed
    from purchases p
    left join joined j using (invoice_id, item)
    left join straddling st using (invoice_id, item, course_key)
    union all  -- a paid invoice naming no product: a row, so its former rows go at a fold
    select invoice_id, null, null, null, school_key, buyer_key, null, paid_at, status,
           refund_asked_at, refunded_at, null, currency, null, null, null
    from paid
    anti join purchases using (invoice_id)
),
-- Merged: the folded rows of an invoice with commerce rows not folded yet take its status,
-- refund and amount now; those of a pair with learning rows not folded yet its state now and
-- the earliest of those rows since payment. Picked in one pass by membership tests (each
-- hashes the few pending keys, where a join hashed the 1.2M folded rows, 0.6 s) on one hash
-- of the pair: a false match is merged with nothing and stays as it was.
flagged as (  -- read twice, scanned once (DuckDB keeps it: two scans and their membership
    -- tests cost more than the copy, 0.2-0.4 CPU s at 10M)
    select f.*,
           f.invoice_id in (select invoice_id from invoices)
           or hash(f.buyer_key, f.course_key) in (select hash(buyer_key, course_key) from moved)
               as touched
    from purchase_state_folded f
    where whole and f.invoice_id not in (select invoice_id from relinked)
    union all  -- a fold: the touched rows found on their three key columns, then read by
    -- rowid, so the other thirteen columns of the 1.18M rows are not read to be dropped
    select f.*, true
    from purchase_state_folded f
    where not whole and f.invoice_id not in (select invoice_id from relinked)
      and rowid in (select r from candidates
                    where invoice_id in (select invoice_id from invoices)
                       or hash(buyer_key, course_key)
                          in (select hash(buyer_key, course_key) from moved))
),
picked as (  -- whole: every folded row; else (a fold) the touched ones alone, a few thousand
    select * from flagged where whole or touched
),
kept as (
    select f.invoice_id, f.item, f.product_id, f.course_key, f.school_key, f.buyer_key,
           f.mapped, f.paid_at,
           case when i.invoice_id is null then f.status else i.status end as status,
           case when i.invoice_id is null then f.refund_asked_at else i.refund_asked_at end
               as refund_asked_at,
           case when i.invoice_id is null then f.refunded_at else i.refunded_at end
               as refunded_at,
           case when i.invoice_id is null then f.amount
                when f.product_id is not null
                    then coalesce(i.product_amounts[f.item],
                                  case when len(i.product_ids) = 1 then i.amount end) end
               as amount,
           case when i.invoice_id is null then f.currency else i.currency end as currency,
           least(f.first_activity_at,
                 list_min(list_filter(m.times, lambda t: t >= f.paid_at))) as first_activity_at,
           coalesce(m.lessons_completed, f.lessons_completed) as lessons_completed,
           coalesce(m.done, f.course_completed) as course_completed,
           -- as folded: the invoice is written back when any of these moved
           f.status as was_status, f.refund_asked_at as was_refund_asked_at,
           f.refunded_at as was_refunded_at, f.amount as was_amount,
           f.currency as was_currency, f.first_activity_at as was_first_activity_at,
           f.lessons_completed as was_lessons_completed,
           f.course_completed as was_course_completed
    from (select * from picked where touched) f
    left join invoices i on i.invoice_id = f.invoice_id
    left join moved m on m.buyer_key = f.buyer_key and m.course_key = f.course_key
),
changes as materialized (
    select columns(lambda c: not starts_with(c, 'was_')),
           (status, refund_asked_at, refunded_at, amount, currency, first_activity_at,
            lessons_completed, course_completed)
           is distinct from (was_status, was_refund_asked_at, was_refunded_at, was_amount,
                             was_currency, was_first_activity_at, was_lessons_completed,
                             was_course_completed) as changed
    from kept
)
select *, true as changed from recomputed
union all
select * from changes
union all
select * exclude (touched), false from picked where whole and not touched
union all  -- not whole: the untouched rows of an invoice with a changed row (written back whole)
select f.*, false
from purchase_state_folded f
where not whole and f.invoice_id in (select invoice_id from changes where changed)
  and not (f.invoice_id in (select invoice_id from invoices)
           or hash(f.buyer_key, f.course_key) in (select hash(buyer_key, course_key) from moved));

comment on macro table purchase_rows is
    'purchase_rows(since): per paid MyEduzz purchase (invoice x item) and course it leads to, the purchase and its buyer''s learning on the course since payment: the folded state brought up to date with the commerce rows from stored_seq `since` on, the learning rows from fold_since() on and product_courses now; what the sales views read.';

create or replace macro purchase_state(since) as table
-- purchase_rows(since) with the invoices to write back at a fold: an invoice's rows are
-- replaced together, so all of them when any one changed.
with r as materialized (select * from purchase_rows(since))
select * exclude (changed), invoice_id in (select invoice_id from r where changed) as unfolded
from r;

comment on macro table purchase_state is
    'purchase_state(since): purchase_rows(since), and whether each row''s invoice changed since the last fold (what a fold writes back).';

create or replace macro purchase_state_touched(since) as table
-- What a fold reads (consumer/store/state.py): purchase_state(since)'s rows of the invoices a
-- row not folded yet touches, so the fold no longer copies the 1.18M untouched purchase rows
-- at 10M to write back a few thousand. The grain is the invoice: the fold deletes each
-- staged invoice's rows, so a changed invoice comes with all its rows (its unchanged
-- siblings read back from the folded table) and a recomputed one with only its rows now.
with r as materialized (select * from purchase_rows(since, whole := false))
select * exclude (changed), invoice_id in (select invoice_id from r where changed) as unfolded
from r;

comment on macro table purchase_state_touched is
    'purchase_state_touched(since): the rows of purchase_state(since) of the invoices a row not folded yet touches: all rows of every invoice that changed, and nothing else that a fold writes back.';

create or replace macro purchase_state_learners(since) as table
-- The buyers whose course state purchase_rows(since) reads besides the learners with learning
-- rows not folded yet (a fold adds them to its scoped copies' learners, so the copy of
-- course_state_folded serves purchase_rows instead of all 400k rows at 10M): the buyers of
-- the paid invoices with commerce rows not folded yet (those relinked among them) and of the
-- purchases of sellers whose mapping moved. Relinked unmapped purchases of a buyer with a new
-- course are of a learner with rows not folded yet already.
select buyer_key as learner_key from invoice_changes(since)
where paid_at is not null and buyer_key is not null
union
select buyer_key from purchase_state_folded
where buyer_key is not null
  and school_key in (select school_key from mapping_state(since) where unfolded);

comment on macro table purchase_state_learners is
    'purchase_state_learners(since): the buyers of the invoices purchase_rows(since) recomputes that may have no learning row not folded yet, whose course state a fold copies with the pending learners'' (internal).';
