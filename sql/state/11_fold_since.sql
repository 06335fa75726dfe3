create or replace macro fold_since() as
-- The first stored_seq not folded yet (0 before any fold): what the state macros merge in
-- at read time.
    coalesce((select next_seq from fold_mark), 0);

comment on macro fold_since is
    'fold_since(): the first learning_events.stored_seq not folded into the current-state tables yet.';
