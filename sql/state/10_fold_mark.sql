-- Where the last fold of the current state ended: learning_events rows with stored_seq from
-- next_seq on are not folded yet, nor commerce_events rows from commerce_next_seq on (one
-- sequence numbers both; a fold moves both marks together). No row: nothing folded (a store
-- made before the state tables existed), so every row is pending until the first fold; a
-- null commerce_next_seq: invoices never folded (a store made before invoice_state), so
-- every commerce row is pending until the next fold.
create table if not exists fold_mark (
    id                integer primary key default 1 check (id = 1),
    next_seq          bigint not null,
    commerce_next_seq bigint
);

alter table fold_mark add column if not exists commerce_next_seq bigint;

-- Whether the rows of the folded tables of learners are grouped by learner
-- (consumer/store/state.py `cluster`): false in a store whose folds wrote them ungrouped (the
-- row there when the column came), which its next open groups once; a row written since
-- says true. Grouped, the learner column compresses by dictionary and a fold's copy of the
-- pending learners' rows reads it 2-3x faster (README, Performance).
alter table fold_mark add column if not exists learner_order boolean default false;
alter table fold_mark alter column learner_order set default true;

comment on table fold_mark is
    'Internal: learning_events rows with stored_seq >= next_seq are not folded into the *_state_folded tables yet, nor commerce_events rows with stored_seq >= commerce_next_seq.';
