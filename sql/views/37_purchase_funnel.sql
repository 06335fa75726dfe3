create or replace view purchase_funnel as
-- Per seller, product and funnel group (purchase_steps): paid purchases reaching each step
-- in order (paid, started, completed_lesson, half_course, completed_course), as they stand
-- now. Right-censored like ordered_funnel: a purchase stuck at a step is in_window while it
-- is younger than 30 days at the newest stored event, not a drop-off. purchase_funnel_between
-- counts the same over one cohort of payments.
with per_group as (
    select school_key, product_id, course_key, mapped,
           count(*) as r1, count(*) filter (where step >= 2) as r2,
           count(*) filter (where step >= 3) as r3, count(*) filter (where step >= 4) as r4,
           count(*) filter (where step >= 5) as r5,
           count(*) filter (where step = 1 and in_window) as w2,
           count(*) filter (where step = 2 and in_window) as w3,
           count(*) filter (where step = 3 and in_window) as w4,
           count(*) filter (where step = 4 and in_window) as w5
    from purchase_steps
    group by all
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
    from per_group
)
select school_key, product_id, course_key, mapped, step_number, step, reached, in_window,
       dropped,
       reached / nullif(lag(reached) over (partition by school_key, product_id, course_key
                                           order by step_number), 0) as conversion
from steps;

comment on view purchase_funnel is
    'Per seller, product, course (null: product without a mapping) and step (paid, started, completed_lesson, half_course, completed_course): paid purchases reaching the step in order since payment; those stuck at the step are in_window while under 30 days old at the newest stored event, else dropped.';
comment on column purchase_funnel.school_key is 'The seller, myeduzz:<producer id>.';
comment on column purchase_funnel.product_id is 'The product bought (MyEduzz items[].productId).';
comment on column purchase_funnel.mapped is
    'True: course_key is one of the product''s mapped courses; false: no mapping, course_key null, steps over any of the buyer''s courses on the seller''s platforms.';
comment on column purchase_funnel.step_number is '1 to 5, the funnel order.';
comment on column purchase_funnel.step is
    'paid; started (an active learning event since payment); completed_lesson (a lesson completed now); half_course (half the course''s known lessons completed now); completed_course (course completed now).';
comment on column purchase_funnel.reached is
    'Purchases (invoice x product, paid at some point, refunded ones included) that reached this step and every one before it.';
comment on column purchase_funnel.in_window is
    'Purchases that reached the previous step but not this one and were paid under 30 days before the newest stored event: not a drop-off yet.';
comment on column purchase_funnel.dropped is
    'Purchases that reached the previous step but not this one, paid 30 days or more before the newest stored event.';
comment on column purchase_funnel.conversion is 'reached / reached at the previous step; null for paid.';
