"""The DuckDB schema: one object per numbered file, applied in name order at start-up."""
