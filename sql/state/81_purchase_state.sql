-- grain: invoice_id
-- folds: commerce_events
-- One current state: purchase_state_folded (as of the last fold) and the macro
-- purchase_state(since) that brings it up to date with the rows not folded yet (commerce rows
-- from `since` on, learning rows from fold_since() on, product_courses now). Read by
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

create or replace macro purchase_state(since) as table
-- Recomputed from their events: the invoices with commerce rows not folded yet, those of
-- sellers whose mapping changed since the last fold (mapping_state), and those of a product
-- without a mapping whose buyer has a course not folded yet (a new fallback course); all of
-- them from scratch (`since` before every row, as refold and erasure ask). Merged: the
-- folded rows of a buyer with learning rows not folded yet take the buyer's course state now
-- (course_state) and the earliest of those rows since payment, an order-independent rule.
-- Every other folded row is read as it is, so the answer equals a recomputation whatever
-- was folded when and whatever the arrival order.
with recent as (  -- the learning rows not folded yet; none when refolding from scratch
    select case when since = -9223372036854775808 then 9223372036854775807
                else fold_since() end as seq
),
pairs as materialized (  -- learner x course with learning rows not folded yet, as now
    select learner_key as buyer_key, course_key, lessons_completed, coalesce(done, false) as done
    from course_state((select seq from recent))
    where unfolded
),
dirty as materialized (
    select invoice_id from commerce_events
    where stored_seq >= since and invoice_id is not null and platform = 'myeduzz'
      and event_type like 'myeduzz.invoice_%'
    union
    select invoice_id from purchase_state_folded
    where school_key in (select school_key from mapping_state(since) where unfolded)
    union
    select invoice_id from purchase_state_folded
    where not mapped
      and buyer_key in (select buyer_key from pairs
                        anti join course_state_folded c
                          on c.learner_key = pairs.buyer_key and c.course_key = pairs.course_key)
),
-- Recomputed: the dirty invoices' purchases, from invoice_state, product_courses and the
-- buyer's learning events.
paid as materialized (
    select invoice_id, school_key, buyer_key, status, paid_at, refund_asked_at,
           case when status = 'refunded' then status_at end as refunded_at, currency, amount,
           product_ids, product_amounts
    from invoice_state(since)
    where paid_at is not null and invoice_id in (select invoice_id from dirty)
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
events as (  -- the buyers' learning events with a course
    select learner_key, course_key, lesson_key, action, occurred_at,
           event_order(occurred_at, kafka_partition, kafka_offset) as o
    from learning_events
    where course_key is not null and learner_key in (select buyer_key from paid)
),
state as materialized (  -- as course_state keeps it, from the buyers' events alone
    select learner_key, course_key,
           min(occurred_at) filter (where action <> 'inactivity_flagged') as first_activity_at,
           max(occurred_at) filter (where action <> 'inactivity_flagged') as last_activity_at,
           coalesce(arg_max(action = 'course_completed', o)
                        filter (where action in ('course_completed', 'course_uncompleted')),
                    false) as done
    from events
    group by all
),
lessons as (  -- lessons completed now: latest completed/uncompleted event per lesson
    select learner_key, course_key, count(*) filter (where completed) as lessons_completed
    from (select learner_key, course_key, lesson_key,
                 arg_max(action = 'lesson_completed', o) as completed
          from events
          where lesson_key is not null and action in ('lesson_completed', 'lesson_uncompleted')
          group by all)
    group by all
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
           s.last_activity_at
    from purchases p
    join linked l using (invoice_id, item)
    left join state s on s.learner_key = p.buyer_key and s.course_key = l.course_key
),
straddling as (  -- active before and after the payment: the first event since it, exactly
    select j.invoice_id, j.item, j.course_key, min(e.occurred_at) as first_after
    from (select * from joined
          where first_activity_at < paid_at and last_activity_at >= paid_at) j
    join events e
      on e.learner_key = j.buyer_key and e.course_key = j.course_key
     and e.occurred_at >= j.paid_at and e.action <> 'inactivity_flagged'
    group by all
),
recomputed as (
    select p.invoice_id, p.item, p.product_id, j.course_key, p.school_key, p.buyer_key,
           p.mapped, p.paid_at, p.status, p.refund_asked_at, p.refunded_at, p.amount,
           p.currency,
           case when j.first_activity_at >= j.paid_at then j.first_activity_at
                else st.first_after end as first_activity_at,
           coalesce(ls.lessons_completed, 0) as lessons_completed,
           coalesce(s.done, false) as course_completed
    from purchases p
    left join joined j using (invoice_id, item)
    left join straddling st using (invoice_id, item, course_key)
    left join state s on s.learner_key = p.buyer_key and s.course_key = j.course_key
    left join lessons ls on ls.learner_key = p.buyer_key and ls.course_key = j.course_key
    union all  -- a paid invoice naming no product: a row, so its former rows go at a fold
    select invoice_id, null, null, null, school_key, buyer_key, null, paid_at, status,
           refund_asked_at, refunded_at, null, currency, null, null, null
    from paid
    anti join purchases using (invoice_id)
),
-- Merged: the other folded rows of buyers with learning rows not folded yet.
touched as materialized (
    select * from purchase_state_folded
    where buyer_key in (select buyer_key from pairs)
      and invoice_id not in (select invoice_id from dirty)
),
since_paid as (  -- their earliest active learning row not folded yet since payment
    select t.invoice_id, t.item, t.course_key, min(e.occurred_at) as first_after
    from touched t
    join learning_events e
      on e.learner_key = t.buyer_key and e.course_key = t.course_key
     and e.occurred_at >= t.paid_at
    where e.stored_seq >= (select seq from recent) and e.action <> 'inactivity_flagged'
    group by all
),
merged as (
    select t.* replace (least(t.first_activity_at, sp.first_after) as first_activity_at,
                        coalesce(p.lessons_completed, t.lessons_completed) as lessons_completed,
                        coalesce(p.done, t.course_completed) as course_completed),
           t.first_activity_at is distinct from least(t.first_activity_at, sp.first_after)
           or t.lessons_completed is distinct from coalesce(p.lessons_completed,
                                                           t.lessons_completed)
           or t.course_completed is distinct from coalesce(p.done, t.course_completed)
               as changed
    from touched t
    left join pairs p on p.buyer_key = t.buyer_key and p.course_key = t.course_key
    left join since_paid sp
      on sp.invoice_id = t.invoice_id and sp.item = t.item and sp.course_key = t.course_key
)
select *, true as unfolded from recomputed
union all  -- an invoice's rows are written back together when any of them changed
select * exclude (changed), bool_or(changed) over (partition by invoice_id) from merged
union all
select f.*, false from purchase_state_folded f
anti join (select distinct buyer_key from pairs) b on b.buyer_key = f.buyer_key
anti join dirty d on d.invoice_id = f.invoice_id;

comment on macro table purchase_state is
    'purchase_state(since): per paid MyEduzz purchase (invoice x item) and course it leads to, the purchase and its buyer''s learning on the course since payment: the folded state brought up to date with the commerce rows from stored_seq `since` on, the learning rows from fold_since() on and product_courses now.';
