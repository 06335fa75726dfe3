create or replace view purchase_funnel as
-- Every purchase ever paid: purchase_funnel_between over all time (one definition).
select * from purchase_funnel_between('-infinity', 'infinity');

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
