-- grain: school_key, product_id, course_key
-- folds: commerce_events
-- erased by: nothing
-- One current state: mapping_state_folded (product_courses as of the last fold) and the macro
-- mapping_state(since) that sets it beside product_courses now. Read by
-- consumer/store/state.py, which folds and refolds every state alike, as the lines above say
-- (no erasure touches a mapping). product_courses has no stored_seq: users change it while
-- the consumer runs (`products map|load`), so purchase_state finds the sellers whose mapping
-- moved since the last fold by this difference, and recomputes their purchases.
create table if not exists mapping_state_folded (
    school_key varchar not null,
    product_id varchar not null,
    course_key varchar not null,
    present    boolean not null  -- false: in product_courses at an earlier fold, not now
);

comment on table mapping_state_folded is
    'Internal: the product_courses rows as of the last fold (present), and those removed since an earlier fold (not present); what purchase_state was folded with.';

create or replace macro mapping_state(since) as table
-- The mapping as of the last fold merged with product_courses now: `unfolded` marks the rows
-- added or removed since (`since` is unused: the mapping has no stored_seq).
select school_key, product_id, course_key,
       m.school_key is not null as present,
       coalesce(f.present, false) <> (m.school_key is not null) as unfolded
from mapping_state_folded f
full join (select school_key, product_id, course_key from product_courses) m
  using (school_key, product_id, course_key);

comment on macro table mapping_state is
    'mapping_state(since): each product_courses row now or at the last fold, whether it is mapped now, and whether that changed since the last fold.';
