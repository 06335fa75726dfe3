create or replace macro later(old_value, old_order, new_value, new_order) as
-- Folding rule of every "latest event wins" value: the new value replaces the old one only
-- when its event orders after the old one's (event_order), or when there was none.
    case when new_order > old_order or old_order is null then new_value else old_value end;

comment on macro later is
    'later(old_value, old_order, new_value, new_order): the value whose event orders last; how folds and reads merge new events into the folded state.';
