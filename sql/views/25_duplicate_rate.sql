create or replace view duplicate_rate as
-- Redeliveries per source, from the consumer's per-batch counts: over all time (day null)
-- and per calendar day of the batch in the reporting zone America/Sao_Paulo.
select source,
       cast(timezone('America/Sao_Paulo', batch_at) as date) as day,
       sum(messages)::bigint as deliveries,
       sum(duplicates)::bigint as duplicates,
       sum(conflicts)::bigint as conflicts,
       sum(duplicates) / nullif(sum(messages), 0) as rate
from deliveries
group by grouping sets ((source), (source, day));

comment on view duplicate_rate is
    'Per source, over all time (day null) and per day: messages delivered, how many were redeliveries of a stored event, and their share. Counted by the consumer per batch; rebuild and replay add nothing.';
comment on column duplicate_rate.day is
    'Calendar day the consumer wrote the batch, in America/Sao_Paulo; null on the all-time row of the source.';
comment on column duplicate_rate.deliveries is
    'Messages read that carried an event or a dead letter (deliveries.messages).';
comment on column duplicate_rate.duplicates is
    'Messages skipped as redeliveries: event_uid already stored or earlier in the same batch, or a dead letter read again.';
comment on column duplicate_rate.conflicts is
    'Duplicates whose body differed from the first write (sentDate aside): see conflicting_duplicates.';
comment on column duplicate_rate.rate is 'duplicates / deliveries; null when there were no deliveries.';
