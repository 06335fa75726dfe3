-- Which courses a MyEduzz product gives access to: no payload links the two, so users fill
-- this with `learnstream products map|load`. Per seller (the school that sells the product),
-- many to many. Not derived from raw_events: `rebuild` leaves it as it is.
create table if not exists product_courses (
    school_key varchar not null,  -- the seller, as commerce_events.school_key
    product_id varchar not null,  -- as commerce_events.product_ids
    course_key varchar not null,
    mapped_at  timestamptz not null,  -- when the mapping was added
    primary key (school_key, product_id, course_key)
);

comment on table product_courses is
    'Per seller (myeduzz:<producer id>) and product: the courses a purchase of it gives access to (many to many), filled with `learnstream products map|load`; kept across rebuild.';
