"""What reads the published snapshot (never the live store): `report` (the terminal report),
`query` (`learnstream sql`), `export` (Parquet/CSV), `dashboard` (the page of charts), and
`terminal`, the tables and errors they share.
"""
