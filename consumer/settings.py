"""Consumer-side settings: one frozen Struct per command, read once from flags or LEARNSTREAM_*."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

ENV_PREFIX = "LEARNSTREAM_"
BOOTSTRAP = r"^[^\s:,]+:\d{1,5}(,[^\s:,]+:\d{1,5})*$"  # HOST:PORT[,HOST:PORT...]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]


class ConsumerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream consume`: Kafka topic to DuckDB file."""

    bootstrap: Annotated[str, msgspec.Meta(pattern=BOOTSTRAP)] = "127.0.0.1:9092"
    topic: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream.raw"
    group: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream"
    data_dir: str = "./data"
    partitions: Annotated[int, msgspec.Meta(ge=1)] = 3
    batch_max_records: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    poll_timeout_ms: Annotated[int, msgspec.Meta(ge=1)] = 500
    drain_timeout: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    session_timeout_ms: Annotated[int, msgspec.Meta(ge=1000)] = 10_000
    store_retries: Annotated[int, msgspec.Meta(ge=0)] = 5
    eduzz_zone: str = "America/Sao_Paulo"
    toolzz_zone: str = "America/Sao_Paulo"
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        for name in ("eduzz_zone", "toolzz_zone"):
            try:
                ZoneInfo(getattr(self, name))
            except (ZoneInfoNotFoundError, ValueError):
                zone = getattr(self, name)
                raise ValueError(f"unknown time zone {zone!r} - at `$.{name}`") from None

    @property
    def db_path(self) -> Path:
        """The DuckDB file the consumer owns."""
        return Path(self.data_dir) / "learnstream.duckdb"

    def zones(self) -> dict[str, ZoneInfo]:
        """Zone of zoneless timestamps per source."""
        return {"eduzz": ZoneInfo(self.eduzz_zone), "toolzz": ZoneInfo(self.toolzz_zone)}


class LauncherSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream up` / `demo`: broker (embedded unless --bootstrap), receiver, consumer."""

    data_dir: str = "./data"
    http_port: Port = 8080
    broker_port: Port = 9092
    bootstrap: Annotated[str, msgspec.Meta(pattern=f"^$|{BOOTSTRAP}")] = ""  # "" = embedded
    topic: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream.raw"
    group: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream"
    eduzz_secrets: str = ""
    toolzz_token: str = ""
    allow_unsigned: bool = False
    log_level: str = "INFO"


class DemoSettings(LauncherSettings, frozen=True, kw_only=True):
    """`learnstream demo`: `up` on temporary ports, fed a journey simulator run."""

    learners: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 40


class BrokerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream broker`: the embedded Tansu broker alone (memory only)."""

    broker_port: Port = 9092


# Flags whose name differs from the field (the variable keeps the field's name).
FLAG_ALIASES: dict[str, dict[type, str]] = {"broker_port": {BrokerSettings: "--port"}}
HELP = {
    "bootstrap": "Kafka bootstrap HOST:PORT list",
    "topic": "Kafka topic of raw webhooks",
    "group": "Kafka consumer group (offsets are also committed there for lag tools)",
    "data_dir": "directory of learnstream.duckdb",
    "partitions": "partitions when the consumer creates the topic",
    "batch_max_records": "most records per getmany batch (one DuckDB transaction)",
    "poll_timeout_ms": "getmany wait when the topic is idle",
    "drain_timeout": "seconds to keep consuming after a stop signal until caught up",
    "session_timeout_ms": "group session timeout: how soon a dead consumer's partitions move",
    "store_retries": "retries of a failed DuckDB batch (with backoff) before the consumer exits",
    "eduzz_zone": "time zone of zoneless Eduzz timestamps",
    "toolzz_zone": "time zone of zoneless Toolzz timestamps (send_at)",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "http_port": "receiver port",
    "eduzz_secrets": "Eduzz webhook secrets, comma-separated (passed to the receiver)",
    "toolzz_token": "the token in the Toolzz webhook URL (passed to the receiver)",
    "allow_unsigned": "start without secrets, accepting unsigned webhooks (development only)",
    "broker_port": "embedded broker port",
    "learners": "simulated learners whose webhooks the demo posts",
}

S = TypeVar("S", ConsumerSettings, LauncherSettings, DemoSettings, BrokerSettings)


def env_name(field: str) -> str:
    """The environment variable that sets `field`."""
    return ENV_PREFIX + field.upper()


def parser_for(cls: type[S], prog: str) -> argparse.ArgumentParser:
    """An argument parser with one flag per field of `cls`."""
    parser = argparse.ArgumentParser(prog=prog, description=cls.__doc__)
    for f in msgspec.structs.fields(cls):
        flag = FLAG_ALIASES.get(f.name, {}).get(cls, "--" + f.name.replace("_", "-"))
        extra = {"action": "store_const", "const": "true"} if f.type is bool else {
            "metavar": env_name(f.name)}
        parser.add_argument(flag, dest=f.name, help=f"{HELP[f.name]} (default: {f.default!r})",
                            **extra)  # type: ignore[arg-type]
    return parser


def load(cls: type[S], argv: Sequence[str], prog: str,
         environ: Mapping[str, str] = os.environ) -> S:
    """Settings from `environ`, overridden by flags; a bad value exits naming the variable."""
    parser = parser_for(cls, prog)
    given = vars(parser.parse_args(list(argv)))
    fields = msgspec.structs.fields(cls)
    values: dict[str, object] = {f.name: environ[env_name(f.name)] for f in fields
                                 if env_name(f.name) in environ}
    values.update({k: v for k, v in given.items() if v is not None})
    try:
        return msgspec.convert(values, cls, strict=False)
    except (msgspec.ValidationError, ValueError) as exc:
        field = str(exc).rsplit("`$.", 1)[-1].rstrip("`") if "`$." in str(exc) else ""
        where = f"--{field.replace('_', '-')} / {env_name(field)}" if field else "settings"
        parser.error(f"bad setting ({where}): {exc}")
        raise  # unreachable: parser.error exits
