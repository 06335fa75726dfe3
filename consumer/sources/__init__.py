"""Bytes to rows, pure (no Kafka, no DuckDB): `decoder` reads a Kafka message's envelope and
hands the body to the module of its platform (`alpaclass`, `nutror`, `myeduzz`, `sun`,
`blinket` for Eduzz; `toolzz`), which maps it to the rows of consumer.rows. `envelope` holds
what every Eduzz body shares, `identity` the key and time rules, `catalog` the list of the
events the decoders know (the README's event table).
"""
