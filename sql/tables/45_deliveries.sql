-- What each consumer batch's messages became, per source, written in the batch's own
-- transaction: the duplicate rate needs the deliveries that left no row behind.
create table if not exists deliveries (
    batch_at     timestamptz not null,
    source       varchar not null,
    messages     integer not null,
    new_events   integer not null,
    duplicates   integer not null,
    conflicts    integer not null,
    dead_letters integer not null
);

comment on table deliveries is
    'One row per consumer batch and source: messages read and what they became. learnstream rebuild and replay-dead-letters add no rows.';
comment on column deliveries.batch_at is 'When the batch was written (UTC instant).';
comment on column deliveries.messages is
    'Messages of the source in the batch that carried an event or a dead letter (an Eduzz ping carries neither).';
comment on column deliveries.new_events is 'raw_events rows added: event_uids not stored before.';
comment on column deliveries.duplicates is
    'Messages skipped as redeliveries: their event_uid was stored already or earlier in the batch, or the same dead letter was read again.';
comment on column deliveries.conflicts is
    'Duplicates whose body differed from the first write (sentDate aside), kept in conflicting_deliveries.';
comment on column deliveries.dead_letters is 'dead_letters rows added.';
