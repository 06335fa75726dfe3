-- Sales, subscriptions, commissions, carts and tickets; money as DECIMAL, never float.
create table if not exists commerce_events (
    event_uid       varchar not null,
    platform        varchar not null,
    event_type      varchar not null,
    occurred_at     timestamptz not null,
    buyer_key       varchar,
    invoice_id      varchar,
    contract_id     varchar,
    status          varchar,
    product_ids     varchar[],
    amount          decimal(18, 2),
    currency        varchar,
    kafka_partition integer not null,
    kafka_offset    bigint not null
);
