-- grain: invoice_id, buyer_key, course_key, lesson_key
-- folds: commerce_events
-- One current state: refund_progress_folded (as of the last fold) and the macro
-- refund_progress(since) that merges the rows not folded yet into it (commerce rows from
-- `since` on, learning rows from fold_since() on). Read by consumer/store/state.py, which
-- folds and refolds every state alike, as the lines above say.
-- Per MyEduzz invoice with a refund asked and lesson its buyer has a completion event on: the
-- lesson's completion by the current-state rule over the events before the request
-- (invoice_state.refund_asked_at), as of the last fold; what refunds_by_progress buckets.
-- Rows are kept for the (buyer, request) of invoice_state_folded: an invoice whose buyer or
-- request moved is recomputed from its buyer's events.
create table if not exists refund_progress_folded (
    invoice_id      varchar not null,
    buyer_key       varchar not null,
    course_key      varchar not null,
    lesson_key      varchar not null,
    completed       boolean,  -- null: no completed/uncompleted event before the request
    completed_order hugeint
);

comment on table refund_progress_folded is
    'Internal: per invoice with a refund asked, its buyer and each lesson they have a completion event on, the completion (with its event_order) over the events before the request, as of the last fold; read by purchase_courses.';

create or replace macro refund_progress(since) as table
-- Lessons completed when the refund was asked: the folded rows, with the buyer's completion
-- events not folded yet (before the request) merged in by `later`; an invoice whose buyer or
-- request changed in the invoice events not folded yet (from `since` on) is recomputed from
-- all its buyer's events, so the answer is the same whatever was folded when and whatever
-- the arrival order. Reading it is a scan of these rows instead of every completion event.
with asked as materialized (  -- the invoices with a refund asked, now
    -- Those with invoice events not folded yet (invoice_changes: with their folded request,
    -- so no second read of the folded table), then the folded ones without any.
    select invoice_id, buyer_key, refund_asked_at as asked_at,
           was_buyer_key is distinct from buyer_key
           or was_refund_asked_at is distinct from refund_asked_at as moved
    from invoice_changes(since)
    where refund_asked_at is not null and buyer_key is not null
    union all
    select invoice_id, buyer_key, refund_asked_at, false
    from invoice_state_folded
    where refund_asked_at is not null and buyer_key is not null
      and invoice_id not in (  -- those invoice_changes returns: with invoice events since
          select invoice_id from commerce_events
          where stored_seq >= since and platform = 'myeduzz'
            and event_type like 'myeduzz.invoice_%' and invoice_id is not null)
),
recomputed as (  -- every lesson the buyer has a completion event on, from all of them
    select a.invoice_id, a.buyer_key, e.course_key, e.lesson_key,
           arg_max(e.action = 'lesson_completed', e.o) filter (where e.occurred_at < a.asked_at)
               as completed,
           max(e.o) filter (where e.occurred_at < a.asked_at) as completed_order
    from (select * from asked where moved) a
    join (select learner_key, course_key, lesson_key, action, occurred_at,
                 event_order(occurred_at, kafka_partition, kafka_offset) as o
          from learning_events
          where lesson_key is not null and course_key is not null
            and action in ('lesson_completed', 'lesson_uncompleted')
            and learner_key in (select buyer_key from asked where moved)) e
      on e.learner_key = a.buyer_key
    group by all
),
new as (  -- the other invoices: their buyer's completion events not folded yet
    select a.invoice_id, a.buyer_key, e.course_key, e.lesson_key,
           arg_max(e.action = 'lesson_completed', e.o) as completed, max(e.o) as completed_order
    from (select * from asked where not moved) a
    join (select learner_key, course_key, lesson_key, action, occurred_at,
                 event_order(occurred_at, kafka_partition, kafka_offset) as o
          from learning_events
          where stored_seq >= fold_since() and lesson_key is not null
            and course_key is not null
            and action in ('lesson_completed', 'lesson_uncompleted')) e
      on e.learner_key = a.buyer_key and e.occurred_at < a.asked_at
    group by all
)
select invoice_id, buyer_key, course_key, lesson_key,
       later(f.completed, f.completed_order, n.completed, n.completed_order) as completed,
       greatest(f.completed_order, n.completed_order) as completed_order,
       true as unfolded
from new n
left join (select * from refund_progress_folded  -- the invoices with new events only
           where invoice_id in (select invoice_id from new)) f
  using (invoice_id, buyer_key, course_key, lesson_key)
union all
select *, true from recomputed
union all
select *, false from refund_progress_folded
anti join (select invoice_id from asked where moved) using (invoice_id)
anti join new using (invoice_id, buyer_key, course_key, lesson_key);

comment on macro table refund_progress is
    'refund_progress(since): per invoice with a refund asked, its buyer and each lesson they have a completion event on, whether it was completed (latest completed/uncompleted event) before the request: the folded rows merged with the commerce events stored from stored_seq `since` on and the learning events from fold_since() on.';
