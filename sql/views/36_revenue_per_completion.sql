create or replace view revenue_per_completion as
-- Per seller, product, currency and month of payment (calendar month in America/Sao_Paulo):
-- revenue of the purchases paid that month, minus what of it is refunded now (a refund
-- counts against its payment's month), over how many of those purchases reached a course
-- completion (purchase_step 5 on one of its courses). DECIMAL throughout: the division is
-- done in whole cents, rounded half up, since DuckDB divides decimals as doubles.
with rows as (
    select s.invoice_id, s.item, s.school_key, s.product_id, s.currency, s.amount,
           s.status = 'refunded' as refunded,
           date_trunc('month', timezone('America/Sao_Paulo', s.paid_at))::date as month,
           purchase_step(s.first_activity_at, s.lessons_completed, coalesce(k.lessons, 0),
                         s.course_completed) = 5 as completed,
           sole_course(s.mapped, s.school_key, s.product_id) as sole
    from purchase_rows(commerce_fold_since()) s
    left join course_lessons_known k using (course_key)
    where s.product_id is not null and s.amount is not null
),
per_purchase as (  -- a purchase with one row is that row; only the others are grouped
    select school_key, product_id, currency, amount, refunded, month,
           coalesce(completed, false) as completed
    from rows
    where sole
    union all
    select any_value(school_key), any_value(product_id), any_value(currency),
           any_value(amount), any_value(refunded), any_value(month),
           coalesce(bool_or(completed), false)
    from rows
    where not sole
    group by invoice_id, item
),
per_month as (
    select school_key, product_id, currency, month,
           count(*) as purchases,
           sum(amount) as paid_revenue,
           coalesce(sum(amount) filter (where refunded), 0) as refunded_revenue,
           count(*) filter (where completed) as completions
    from per_purchase
    group by all
)
select school_key, product_id, currency, month, purchases, paid_revenue, refunded_revenue,
       paid_revenue - refunded_revenue as net_revenue, completions,
       case when completions > 0 then
           ((((paid_revenue - refunded_revenue) * 100)::hugeint * 2 + completions)
            // (2 * completions))::decimal(36, 0) * 0.01
       end as revenue_per_completion
from per_month;

comment on view revenue_per_completion is
    'Per seller, product, currency and month of payment: revenue paid, refunded (now) and net, as DECIMAL, and net revenue per purchase that reached a course completion. Currencies are never summed together.';
comment on column revenue_per_completion.school_key is 'The seller, myeduzz:<producer id>.';
comment on column revenue_per_completion.product_id is 'The product bought.';
comment on column revenue_per_completion.currency is 'The invoices'' currency; one row per currency.';
comment on column revenue_per_completion.month is 'First day of the calendar month of paid_at in America/Sao_Paulo.';
comment on column revenue_per_completion.purchases is 'Purchases paid that month with a known amount (item price, or a one-product invoice''s total).';
comment on column revenue_per_completion.paid_revenue is 'DECIMAL sum of their amounts.';
comment on column revenue_per_completion.refunded_revenue is 'DECIMAL sum of the amounts of those refunded now.';
comment on column revenue_per_completion.net_revenue is 'paid_revenue - refunded_revenue.';
comment on column revenue_per_completion.completions is
    'Of those purchases, how many reached course completion in funnel order (purchase_courses.step 5: activity since payment, a lesson, half, the course completed now).';
comment on column revenue_per_completion.revenue_per_completion is
    'net_revenue / completions as DECIMAL, rounded half up to the cent; null when no completion.';
