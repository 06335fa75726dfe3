create or replace view refunds_by_progress as
-- Purchases ever paid, per seller, product and progress bucket: the share of a course's
-- known lessons the buyer had completed when the refund was asked (current-state rule over
-- the events before the first waiting_refund/refunded event), or has completed now when no
-- refund was asked; the best of the purchase's courses. Refunds are those refunded now.
with rows as (
    select s.invoice_id, s.item, s.school_key, s.product_id, s.mapped, s.status, s.paid_at,
           s.refunded_at, s.refund_asked_at, s.buyer_key, s.course_key, s.lessons_completed,
           sole_course(s.mapped, s.school_key, s.product_id) as sole,
           coalesce(k.lessons, 0) as known
    from purchase_rows(commerce_fold_since()) s
    left join course_lessons_known k on k.course_key = s.course_key
    where s.product_id is not null
),
measured as (  -- the progress when asked, for the rows with a request (6% here): one left
    -- join of every row; splitting the rows by request to join those only made DuckDB copy
    -- them all first (0.1-0.2 CPU s more at 10M)
    select r.* exclude (refund_asked_at, buyer_key, course_key, lessons_completed),
           coalesce(case when r.refund_asked_at is null then r.lessons_completed
                         else a.lessons end, 0) as done
    from rows r
    left join refund_asked_lessons a
      on a.invoice_id = r.invoice_id and a.buyer_key = r.buyer_key
     and a.course_key = r.course_key
),
per_course as (  -- bounds in whole numbers: no float lands on the wrong side of 25%
    select * exclude (known, done),
           case when done = 0 then 0
                when 4 * done < known then 1
                when 2 * done < known then 2
                when 4 * done < 3 * known then 3
                when done < known then 4
                else 5 end as bucket
    from measured
),
per_purchase as (  -- the best of its courses: a purchase with one row is that row
    select school_key, product_id, mapped, status, paid_at, refunded_at, bucket
    from per_course
    where sole
    union all
    select any_value(school_key), any_value(product_id), any_value(mapped), any_value(status),
           any_value(paid_at), any_value(refunded_at), max(bucket)
    from per_course
    where not sole
    group by invoice_id, item
)
select school_key, product_id, mapped, bucket as bucket_order,
       ['none', '<25%', '25-49%', '50-74%', '75-99%', 'all'][bucket + 1] as progress_bucket,
       count(*) as purchases,
       count(*) filter (where status = 'refunded') as refunds,
       count(*) filter (where status = 'refunded') / count(*) as refund_rate,
       quantile_cont((epoch_us(refunded_at) - epoch_us(paid_at)) / 86400e6, 0.5)
           as median_days_to_refund,
       quantile_cont((epoch_us(refunded_at) - epoch_us(paid_at)) / 86400e6, 0.9)
           as p90_days_to_refund
from per_purchase
group by all;

comment on view refunds_by_progress is
    'Per seller, product and progress bucket (lessons completed when the refund was asked, or now when never asked): purchases ever paid, those refunded now, the refund rate and the time from payment to refund.';
comment on column refunds_by_progress.school_key is 'The seller, myeduzz:<producer id>.';
comment on column refunds_by_progress.product_id is 'The product bought.';
comment on column refunds_by_progress.mapped is 'Whether the product has courses in product_courses (else the fallback courses were measured).';
comment on column refunds_by_progress.bucket_order is '0 to 5, the order of progress_bucket.';
comment on column refunds_by_progress.progress_bucket is
    'Share of the course''s known lessons completed: none, <25%, 25-49%, 50-74%, 75-99%, all; the best of the purchase''s courses.';
comment on column refunds_by_progress.purchases is 'Purchases (invoice x product) paid at some point.';
comment on column refunds_by_progress.refunds is 'Of those, refunded now (latest invoice event says refunded).';
comment on column refunds_by_progress.refund_rate is 'refunds / purchases.';
comment on column refunds_by_progress.median_days_to_refund is
    'Median of days (fractional) from paid_at to the refund that holds; null without refunds.';
comment on column refunds_by_progress.p90_days_to_refund is '90th percentile of the same, interpolated.';
