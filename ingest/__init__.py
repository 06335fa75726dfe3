"""The webhook receiver: platforms POST here, the raw body goes to Kafka once acknowledged."""
