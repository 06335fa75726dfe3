"""The DuckDB schema, one object per numbered file, applied at start-up folder by folder:
tables/ (what the consumer writes), state/ (the current-state tables and the macros that
merge pending events into them), views/ (what analysts read), macros/ (views with
parameters); by number within each folder."""
