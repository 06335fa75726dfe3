create or replace view time_to_first_lesson as
-- Per seller and product: how long buyers take from payment to their first learning
-- activity (any active event on a course the purchase leads to, at or after paid_at), from
-- the folded purchase_state.
with rows as (
    select school_key, product_id, mapped, invoice_id, item, paid_at, first_activity_at,
           sole_course(mapped, school_key, product_id) as sole
    from purchase_rows(commerce_fold_since())
    where product_id is not null
),
per_purchase as (  -- a purchase with one row is that row; only the others are grouped
    select school_key, product_id, mapped, paid_at, first_activity_at
    from rows
    where sole
    union all
    select any_value(school_key), any_value(product_id), any_value(mapped),
           any_value(paid_at), min(first_activity_at)
    from rows
    where not sole
    group by invoice_id, item
)
-- Days as microseconds apart / 86400e6: subtracting timestamps builds an interval per row,
-- 0.5 s over 1M purchases.
select school_key, product_id, mapped,
       count(*) as purchases,
       count(first_activity_at) as started,
       quantile_cont((epoch_us(first_activity_at) - epoch_us(paid_at)) / 86400e6, 0.5)
           as median_days,
       quantile_cont((epoch_us(first_activity_at) - epoch_us(paid_at)) / 86400e6, 0.9)
           as p90_days
from per_purchase
group by all;

comment on view time_to_first_lesson is
    'Per seller and product: purchases ever paid, those with learning activity since payment, and the median and 90th percentile of days from payment to the first activity.';
comment on column time_to_first_lesson.school_key is 'The seller, myeduzz:<producer id>.';
comment on column time_to_first_lesson.product_id is 'The product bought.';
comment on column time_to_first_lesson.mapped is 'Whether the product has courses in product_courses (else the fallback courses were searched).';
comment on column time_to_first_lesson.purchases is 'Purchases (invoice x product) paid at some point, refunded ones included.';
comment on column time_to_first_lesson.started is 'Of those, with an active learning event at or after payment.';
comment on column time_to_first_lesson.median_days is
    'Median of days (fractional) from paid_at to the first activity, over the started ones; null when none started.';
comment on column time_to_first_lesson.p90_days is '90th percentile of the same, interpolated between ranks.';
