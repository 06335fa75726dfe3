"""One line of help per consumer-side setting: each flag's --help, and what the README's
configuration table says it means."""

HELP = {
    "bootstrap": "Kafka bootstrap HOST:PORT list",
    "topic": "Kafka topic of raw webhooks",
    "group": "Kafka consumer group (offsets are also committed there for lag tools)",
    "data_dir": "directory of learnstream.duckdb and its snapshot analytics.duckdb",
    "partitions": "partitions when the consumer creates the topic",
    "batch_max_records": "most records per getmany batch (one DuckDB transaction)",
    "poll_timeout_ms": "getmany wait when the topic is idle",
    "batch_linger_ms": "after a poll brings records, how long to keep polling for more "
                       "before they are written in one transaction (0 = at once)",
    "drain_timeout": "seconds to keep consuming after a stop signal until caught up",
    "session_timeout_ms": "group session timeout: how soon a dead consumer's partitions move",
    "free_space_warning": "warn (check, consumer log) when the data dir has less free space "
                          "than this, e.g. 2GB; a snapshot needs room for a copy of the store",
    "memory_limit": "DuckDB memory limit of the consumer (buffer pool, indexes), e.g. 512MB",
    "store_retries": "retries of a failed DuckDB batch (with backoff) before the consumer exits",
    "snapshot_interval": "seconds between refreshes of <data-dir>/analytics.duckdb (0 = none)",
    "snapshot": "snapshot file to read; empty: <data-dir>/analytics.duckdb",
    "raw_retention_ms": "retention (ms) of the raw topic when learnstream creates it; bodies "
                        "of erased people stay in Kafka until then",
    "pseudonym_key": "secret key of the keyed hashes of erased people and of pseudonyms "
                     "(at least 16 characters; empty: forget and --pseudonymize refuse)",
    "eduzz_zone": "time zone of zoneless Eduzz timestamps",
    "toolzz_zone": "time zone of zoneless Toolzz timestamps (send_at)",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "http_port": "receiver port",
    "eduzz_secrets": "Eduzz webhook secrets, comma-separated (passed to the receiver)",
    "toolzz_token": "the token in the Toolzz webhook URL (passed to the receiver)",
    "allow_unsigned": "start without secrets, accepting unsigned webhooks (development only)",
    "broker_port": "embedded broker port",
    "learners": "simulated learners whose webhooks the demo posts",
    "log_format": "text (for people) or json (one object per line, for log shippers)",
    "metrics_port": "port of the consumer's GET /metrics (Prometheus); 0 = off",
    "dashboard_host": "address the dashboard listens on; not loopback: a token is required",
    "dashboard_port": "dashboard port",
    "dashboard_token": "token the dashboard asks for (bearer, or once as ?token=, then a cookie)",
    "dashboard_refresh": "seconds between the page's checks for a newer snapshot",
    "check_timeout": "seconds `check` waits for the broker",
}
