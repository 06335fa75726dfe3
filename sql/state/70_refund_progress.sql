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
settled as materialized (  -- moved, and every folded learning event of the buyer (with a
    -- course) happened before the request (course_state_folded's last activity: in a fold the
    -- scoped copy, which refund_progress_learners puts them in), so each lesson's latest
    -- completion as folded (lesson_state_folded) is its latest before the request, and only
    -- the events not folded yet are read: the usual case of a request arriving as it is made.
    -- Not from scratch (refold, erasure), where every row is to be read again.
    select a.* from asked a
    where a.moved and since <> -9223372036854775808
      and not exists (select 1 from course_state_folded c
                      where c.learner_key = a.buyer_key and c.last_activity_at >= a.asked_at)
),
unsettled as materialized (
    select * from asked where moved and invoice_id not in (select invoice_id from settled)
),
pending as (  -- the completion events not folded yet
    select learner_key, course_key, lesson_key, action, occurred_at,
           event_order(occurred_at, kafka_partition, kafka_offset) as o
    from learning_events
    where stored_seq >= fold_since() and lesson_key is not null and course_key is not null
      and action in ('lesson_completed', 'lesson_uncompleted')
),
settled_rows as (  -- the folded lessons merged with the pending events before the request
    -- (a lesson whose pending events all follow it gets a row all null, as recomputed gives)
    select invoice_id, buyer_key, course_key, lesson_key,
           later(f.completed, f.completed_order, n.completed, n.completed_order) as completed,
           greatest(f.completed_order, n.completed_order) as completed_order
    from (select a.invoice_id, a.buyer_key, l.course_key, l.lesson_key, l.completed,
                 l.completed_order
          from settled a
          join lesson_state_folded l on l.learner_key = a.buyer_key
          where l.course_key is not null and l.completed_order is not null) f
    full join (select a.invoice_id, a.buyer_key, e.course_key, e.lesson_key,
                      arg_max(e.action = 'lesson_completed', e.o)
                          filter (where e.occurred_at < a.asked_at) as completed,
                      max(e.o) filter (where e.occurred_at < a.asked_at) as completed_order
               from settled a
               join pending e on e.learner_key = a.buyer_key
               group by all) n
      using (invoice_id, buyer_key, course_key, lesson_key)
),
recomputed as (  -- the other moved invoices: every lesson the buyer has a completion event
    -- on, from all of them (a scan of the learner of every learning event, 0.3 CPU s at 10M)
    select a.invoice_id, a.buyer_key, e.course_key, e.lesson_key,
           arg_max(e.action = 'lesson_completed', e.o) filter (where e.occurred_at < a.asked_at)
               as completed,
           max(e.o) filter (where e.occurred_at < a.asked_at) as completed_order
    from unsettled a
    join (select learner_key, course_key, lesson_key, action, occurred_at,
                 event_order(occurred_at, kafka_partition, kafka_offset) as o
          from learning_events
          where lesson_key is not null and course_key is not null
            and action in ('lesson_completed', 'lesson_uncompleted')
            and learner_key in (select buyer_key from unsettled)) e
      on e.learner_key = a.buyer_key
    group by all
),
new as (  -- the other invoices: their buyer's completion events not folded yet
    select a.invoice_id, a.buyer_key, e.course_key, e.lesson_key,
           arg_max(e.action = 'lesson_completed', e.o) as completed, max(e.o) as completed_order
    from (select * from asked where not moved) a
    join pending e on e.learner_key = a.buyer_key and e.occurred_at < a.asked_at
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
select *, true from settled_rows
union all
select *, false from refund_progress_folded
anti join (select invoice_id from asked where moved) using (invoice_id)
anti join new using (invoice_id, buyer_key, course_key, lesson_key);

comment on macro table refund_progress is
    'refund_progress(since): per invoice with a refund asked, its buyer and each lesson they have a completion event on, whether it was completed (latest completed/uncompleted event) before the request: the folded rows merged with the commerce events stored from stored_seq `since` on and the learning events from fold_since() on.';

create or replace macro refund_progress_learners(since) as table
-- The buyers of invoices with invoice events not folded yet and a refund asked (those whose
-- request or buyer moved among them): a fold adds them to its scoped copies' learners
-- (consumer/store/state.py LEARNERS), so refund_progress finds in the copy of
-- course_state_folded whether their folded learning all came before the request.
select buyer_key as learner_key from invoice_changes(since)
where refund_asked_at is not null and buyer_key is not null;

comment on macro table refund_progress_learners is
    'refund_progress_learners(since): the buyers of the invoices with a refund asked and invoice events from stored_seq `since` on, whose course state a fold copies with the pending learners'' (internal).';
