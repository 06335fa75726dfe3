"""Receiver settings: one frozen Struct, read once at the edge from flags or LEARNSTREAM_* vars.

The consumer has its own settings module: the two processes share no code, only the
Kafka message format and the data model.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

import msgspec

# Finite and at most a day: inf would pass a lower bound, then crash or stall a timer.
Timeout = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
ENV_PREFIX = "LEARNSTREAM_"
BOOTSTRAP = r"^[^\s:,]+:\d{1,5}(,[^\s:,]+:\d{1,5})*$"  # HOST:PORT[,HOST:PORT...]
LOG_LEVEL = r"(?i)^(debug|info|warning|error)$"
# What a patterned or enumerated field expects, in words (msgspec would show the regex).
EXPECTED = {"bootstrap": "HOST:PORT[,HOST:PORT...]",
            "log_level": "DEBUG, INFO, WARNING or ERROR", "log_format": "text or json"}


class IngestSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream ingest`: webhooks in, raw bodies to Kafka once acknowledged."""

    host: Annotated[str, msgspec.Meta(min_length=1)] = "0.0.0.0"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8080
    bootstrap: Annotated[str, msgspec.Meta(pattern=BOOTSTRAP)] = "127.0.0.1:9092"
    topic: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream.raw"
    publish_timeout: Timeout = 5.0
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1)] = 1024 * 1024
    enable_idempotence: bool = False
    linger_ms: Annotated[int, msgspec.Meta(ge=0)] = 2
    max_batch_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 512 * 1024
    eduzz_secrets: str = ""
    toolzz_token: str = ""
    allow_unsigned: bool = False
    max_in_flight: Annotated[int, msgspec.Meta(ge=1)] = 1000
    max_unverified_bytes: Annotated[int, msgspec.Meta(ge=1)] = 32 * 1024 * 1024
    header_timeout: Timeout = 15.0
    body_timeout: Timeout = 10.0
    log_level: Annotated[str, msgspec.Meta(pattern=LOG_LEVEL)] = "INFO"
    log_format: Literal["text", "json"] = "text"
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1

    @property
    def secrets(self) -> tuple[str, ...]:
        """The Eduzz secrets, comma-separated in the setting (several while rotating)."""
        return tuple(s.strip() for s in self.eduzz_secrets.split(",") if s.strip())

    def unsigned_sources(self) -> list[str]:
        """Sources that would be accepted without proof of origin."""
        return [name for name, ok in (("eduzz", self.secrets), ("toolzz", self.toolzz_token))
                if not ok]


HELP = {
    "host": "address the receiver listens on",
    "port": "receiver HTTP port",
    "bootstrap": "Kafka bootstrap HOST:PORT list",
    "topic": "Kafka topic of raw webhooks",
    "publish_timeout": "seconds to wait for the broker's ack before answering 503",
    "max_body_bytes": "largest accepted body; larger gets 413",
    "enable_idempotence": "aiokafka idempotent producer (Apache Kafka only: Tansu rejects it)",
    "linger_ms": "producer batching delay",
    "max_batch_bytes": "producer batch size per partition (16 KB collapses under load)",
    "eduzz_secrets": "Eduzz webhook secrets, comma-separated (two while rotating one)",
    "toolzz_token": "the token in the Toolzz webhook URL: POST /webhooks/toolzz/<token>",
    "allow_unsigned": "start without secrets, accepting unsigned webhooks (development only)",
    "max_in_flight": "requests handled at once; beyond it 503 (bounds memory)",
    "max_unverified_bytes": "bytes of bodies read at once before their signature is checked "
                           "(each counts its Content-Length, else the body limit); beyond it "
                           "503 (bounds memory)",
    "header_timeout": "seconds a connection may take to send a request's headers (also idle "
                      "keep-alive)",
    "body_timeout": "seconds a request may take to send its body; slower gets 408",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "log_format": "text (for people) or json (one object per line, for log shippers)",
    "workers": "receiver processes sharing the port (SO_REUSEPORT), supervised by this one",
}


def env_name(field: str) -> str:
    """The environment variable that sets `field`."""
    return ENV_PREFIX + field.upper()


def load(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> IngestSettings:
    """Settings from `environ`, overridden by flags; a bad value exits naming the variable."""
    fields = msgspec.structs.fields(IngestSettings)
    parser = argparse.ArgumentParser(prog="learnstream ingest", description=IngestSettings.__doc__)
    for f in fields:
        flag = "--" + f.name.replace("_", "-")
        extra = {"action": "store_const", "const": "true"} if f.type is bool else {
            "metavar": env_name(f.name)}
        parser.add_argument(flag, dest=f.name, help=f"{HELP[f.name]} (default: {f.default!r})",
                            **extra)  # type: ignore[arg-type]
    given = vars(parser.parse_args(list(argv)))
    values: dict[str, object] = {f.name: environ[env_name(f.name)] for f in fields
                                 if env_name(f.name) in environ}
    values.update({k: v for k, v in given.items() if v is not None})
    try:
        return msgspec.convert(values, IngestSettings, strict=False)
    except msgspec.ValidationError as exc:
        parser.exit(2, f"{parser.prog}: {bad_setting(exc, values)}\n")


def bad_setting(exc: Exception, values: Mapping[str, object]) -> str:
    """One line naming the flag and variable of the field msgspec rejected, what it expects
    and what it got."""
    message, _, path = str(exc).rpartition(" - at `$.")
    field = path.rstrip("`")
    if not message or field not in values:
        return f"bad setting: {exc}"
    # msgspec names the type it got (always `str` from a flag or variable): show the value.
    expected = f"expected {EXPECTED[field]}" if field in EXPECTED else re.sub(
        r"^Expected", "expected", re.sub(r", got `\w+`$", "", message))
    return (f"bad setting (--{field.replace('_', '-')} / {env_name(field)}): {expected}, "
            f"got {values[field]!r}")
