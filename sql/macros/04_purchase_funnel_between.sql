create or replace macro purchase_funnel_between(from_ts, to_ts) as table
-- purchase_funnel over the purchases paid in [from_ts, to_ts) (a cohort), their steps as
-- they stand now; the same counting as the view, over purchase_steps filtered by paid_at.
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
    where paid_at >= from_ts::timestamptz and paid_at < to_ts::timestamptz
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

comment on macro table purchase_funnel_between is
    'purchase_funnel_between(from_ts, to_ts): purchase_funnel for the purchases paid in [from_ts, to_ts) only, their steps as they stand now.';
