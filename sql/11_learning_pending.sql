-- Learning events stored but not folded into the state tables yet (*_state_folded): a copy
-- of each new learning_events row, appended in the same transaction. The state macros merge
-- these into the folded state at read time, so every view is exact whatever was folded; the
-- store folds and clears this table every so many rows and before each snapshot.
create table if not exists learning_pending as select * from learning_events limit 0;

comment on table learning_pending is
    'Internal: learning_events rows not folded into the *_state_folded tables yet; the state macros merge them in at read time.';
