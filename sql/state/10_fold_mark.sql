-- Where the last fold of the current state ended: learning_events rows with stored_seq from
-- next_seq on are not folded yet. No row: nothing folded (a store made before the state
-- tables existed), so every row is pending until the first fold.
create table if not exists fold_mark (
    id       integer primary key default 1 check (id = 1),
    next_seq bigint not null
);

comment on table fold_mark is
    'Internal: learning_events rows with stored_seq >= next_seq are not folded into the *_state_folded tables yet.';
