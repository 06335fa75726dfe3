create or replace view refund_asked_lessons as
-- grain: invoice_id, buyer_key, course_key
-- What a buyer had completed when they asked for a refund: lessons completed by the
-- current-state rule over the events before the invoice's first waiting_refund/refunded
-- event, folded by the consumer in refund_progress (sql/state/70). Read by purchase_courses
-- and refunds_by_progress, which must bucket the same count.
select invoice_id, buyer_key, course_key, count(*) as lessons
from refund_progress(commerce_fold_since())
where completed
group by all;

comment on view refund_asked_lessons is
    'Per invoice with a refund asked, its buyer and course: lessons completed before the refund was asked (latest completed/uncompleted event before the request).';
comment on column refund_asked_lessons.lessons is
    'Lessons of the course the buyer had completed when the refund was first asked.';
comment on column refund_asked_lessons.invoice_id is 'MyEduzz invoice whose refund was asked.';
comment on column refund_asked_lessons.buyer_key is 'The buyer, by the learner_key rule.';
