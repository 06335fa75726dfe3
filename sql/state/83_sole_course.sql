create or replace macro sole_course(is_mapped, seller, product) as
-- Whether a purchase has exactly one row in purchase_rows: a product mapped to one course
-- now (a mapped purchase has a row per mapped course, and the folded rows of a seller whose
-- mapping moved are recomputed). The per-purchase views take those rows as they are and
-- group only the others: grouping all 1.1M purchases was 0.3-0.5 s of each view at 10M.
    coalesce(is_mapped, false)
    and (seller, product) not in (select school_key, product_id from product_courses
                                  group by all having count(*) > 1);

comment on macro sole_course is
    'sole_course(is_mapped, seller, product): true when the purchase is of a product mapped to exactly one course now, so it has one row in purchase_rows.';
