"""What reads the published snapshot (never the live store): `report` (the terminal report),
`query` (`learnstream sql`), `export` (Parquet/CSV), and `terminal`, the tables and errors
they share.
"""
