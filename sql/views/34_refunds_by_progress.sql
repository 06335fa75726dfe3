create or replace view refunds_by_progress as
-- Purchases ever paid, per seller, product and progress bucket: the share of a course's
-- known lessons the buyer had completed when the refund was asked (current-state rule over
-- the events before the first waiting_refund/refunded event), or has completed now when no
-- refund was asked; the best of the purchase's courses. Refunds are those refunded now.
with buckets as (  -- per purchase, grouped before the join: its best course now and when asked
    -- bounds in whole numbers: no float lands on the wrong side of 25%
    select invoice_id, product_id,
           max(case when done = 0 then 0
                    when 4 * done < known then 1
                    when 2 * done < known then 2
                    when 4 * done < 3 * known then 3
                    when done < known then 4
                    else 5 end) as bucket_now,
           max(case when done_asked = 0 then 0
                    when 4 * done_asked < known then 1
                    when 2 * done_asked < known then 2
                    when 4 * done_asked < 3 * known then 3
                    when done_asked < known then 4
                    else 5 end) as bucket_asked
    from (select invoice_id, product_id, lessons_known as known, lessons_completed as done,
                 lessons_completed_when_asked as done_asked
          from purchase_courses)
    group by all
),
per_purchase as (
    select p.school_key, p.product_id, p.mapped, p.invoice_id, p.status, p.paid_at,
           p.refunded_at,
           coalesce(case when p.refund_asked_at is not null then b.bucket_asked
                         else b.bucket_now end, 0) as bucket
    from purchases p
    left join buckets b using (invoice_id, product_id)
    where p.paid_at is not null
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
