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
    kafka_offset    bigint not null,
    school_key      varchar,  -- the seller: MyEduzz `myeduzz:<producer id>`
    product_amounts decimal(18, 2)[],  -- each product_ids entry's item price, when sent
    -- Internal: the order the store wrote rows in (one sequence with learning_events); rows
    -- from commerce_fold_since() on are not folded into invoice_state yet.
    stored_seq      bigint default 0
);
-- Stores created before these columns get them; `rebuild` fills them from raw_events.
alter table commerce_events add column if not exists school_key varchar;
alter table commerce_events add column if not exists product_amounts decimal(18, 2)[];
-- Their rows count as written before any fold; a store that never folded invoices keeps
-- them all pending until its first fold (fold_mark.commerce_next_seq is null).
alter table commerce_events add column if not exists stored_seq bigint default 0;

comment on column commerce_events.stored_seq is
    'Internal: the order the store wrote this row in (0: before the column existed). Rows from commerce_fold_since() on are merged into invoice_state at read time.';
