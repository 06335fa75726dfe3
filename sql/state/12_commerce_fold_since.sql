create or replace macro commerce_fold_since() as
-- The first commerce_events.stored_seq not folded into invoice_state yet (0 before any fold
-- of invoices): what invoice_state merges in at read time.
    coalesce((select commerce_next_seq from fold_mark), 0);

comment on macro commerce_fold_since is
    'commerce_fold_since(): the first commerce_events.stored_seq not folded into invoice_state yet.';
