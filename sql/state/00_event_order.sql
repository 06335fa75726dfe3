create or replace macro event_order(occurred_at, kafka_partition, kafka_offset) as
-- The order of the current-state rule (data-model.md section 6) as one number: occurred_at
-- (microseconds), then arrival (kafka_partition, kafka_offset). arg_max and max over one
-- HUGEINT are several times cheaper than over the struct of the three, and order the same
-- for every partition below 65536 and offset below 2^48 (Kafka's are far smaller).
    epoch_us(occurred_at)::hugeint * 18446744073709551616
        + kafka_partition::hugeint * 281474976710656 + kafka_offset;

comment on macro event_order is
    'event_order(occurred_at, kafka_partition, kafka_offset): one HUGEINT ordering events by occurred_at, then arrival; the tie-break of every "latest event wins" rule.';
