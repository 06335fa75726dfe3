"""The consumer: Kafka batches decoded with msgspec into DuckDB, one transaction per batch."""
