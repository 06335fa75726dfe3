create or replace macro purchase_funnel_between(from_ts, to_ts) as table
-- The purchase funnel of the purchases paid in [from_ts, to_ts) (a cohort), their steps as
-- they stand now (purchase_courses.step): paid, started (activity since payment), a lesson
-- completed, half of the course, course completed. One row per seller, product, course and
-- step; a product mapped to several courses has a row per course (each purchase counts in
-- each), a product without a mapping one row with course_key null (the fallback: any of the
-- buyer's courses on the seller's platforms). Right-censored like ordered_funnel: a purchase
-- stuck at a step is in_window while it is younger than 30 days at the newest stored event.
with bought as (
    select * from purchases
    where paid_at >= from_ts::timestamptz and paid_at < to_ts::timestamptz
),
newest as (
    select greatest((select max(occurred_at) from learning_events),
                    (select max(occurred_at) from commerce_events)) as as_of
),
per_purchase as (
    select b.school_key, b.product_id, b.mapped,
           case when b.mapped then c.course_key end as course_key,
           b.paid_at + interval 30 day > (select as_of from newest) as open,
           max(coalesce(c.step, 1)) as step
    from bought b
    left join purchase_courses c using (invoice_id, product_id)
    group by b.school_key, b.product_id, b.mapped, b.invoice_id, 4, 5
),
per_course as (
    select school_key, product_id, course_key, mapped,
           count(*) as r1, count(*) filter (where step >= 2) as r2,
           count(*) filter (where step >= 3) as r3, count(*) filter (where step >= 4) as r4,
           count(*) filter (where step >= 5) as r5,
           count(*) filter (where step = 1 and open) as w2,
           count(*) filter (where step = 2 and open) as w3,
           count(*) filter (where step = 3 and open) as w4,
           count(*) filter (where step = 4 and open) as w5
    from per_purchase group by all
),
steps as (
    select school_key, product_id, course_key, mapped, unnest([
        {'step_number': 1, 'step': 'paid', 'reached': r1, 'in_window': 0, 'dropped': 0},
        {'step_number': 2, 'step': 'started', 'reached': r2, 'in_window': w2,
         'dropped': r1 - r2 - w2},
        {'step_number': 3, 'step': 'completed_lesson', 'reached': r3, 'in_window': w3,
         'dropped': r2 - r3 - w3},
        {'step_number': 4, 'step': 'half_course', 'reached': r4, 'in_window': w4,
         'dropped': r3 - r4 - w4},
        {'step_number': 5, 'step': 'completed_course', 'reached': r5, 'in_window': w5,
         'dropped': r4 - r5 - w5}], recursive := true)
    from per_course
)
select school_key, product_id, course_key, mapped, step_number, step, reached, in_window,
       dropped,
       reached / nullif(lag(reached) over (partition by school_key, product_id, course_key
                                           order by step_number), 0) as conversion
from steps;

comment on macro table purchase_funnel_between is
    'purchase_funnel_between(from_ts, to_ts): purchase_funnel for the purchases paid in [from_ts, to_ts) only, their steps as they stand now.';
