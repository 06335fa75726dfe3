create or replace macro purchase_step(first_activity_at, lessons_completed, lessons_known,
                                      course_completed) as
-- The furthest step of the purchase funnel a purchase reached on one course, in order: each
-- step needs the one before, so a funnel over it never grows. One rule for purchase_courses
-- and the views that read purchase_state without it.
    case when first_activity_at is null then 1
         when coalesce(lessons_completed, 0) = 0 then 2
         when 2 * lessons_completed < lessons_known then 3
         when not course_completed then 4
         else 5 end;

comment on macro purchase_step is
    'purchase_step(first_activity_at, lessons_completed, lessons_known, course_completed): 1 paid, 2 started (activity since payment), 3 a lesson completed now, 4 half the known lessons, 5 course completed now.';
