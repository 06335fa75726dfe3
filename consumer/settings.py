"""Consumer-side settings: one frozen Struct per command, read once from flags or LEARNSTREAM_*."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from consumer.help import HELP

# Finite and at most a day: inf would pass a lower bound, then crash or stall a timer.
Timeout = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Seconds = Annotated[float, msgspec.Meta(ge=0, le=86_400)]
ENV_PREFIX = "LEARNSTREAM_"
BOOTSTRAP = r"^[^\s:,]+:\d{1,5}(,[^\s:,]+:\d{1,5})*$"  # HOST:PORT[,HOST:PORT...]
MEMORY = r"^\d+(\.\d+)?\s*(B|[KMGT]i?B)$"  # DuckDB's size syntax: 512MB, 1GB, 2GiB
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
SNAPSHOT_FILE = "analytics.duckdb"
LogLevel = Annotated[str, msgspec.Meta(pattern=r"(?i)^(debug|info|warning|error)$")]
LogFormat = Literal["text", "json"]
Dir = Annotated[str, msgspec.Meta(min_length=1)]
# What a patterned or enumerated field expects, in words (msgspec would show the regex).
# Empty (no erasure, no pseudonyms) or long enough not to be guessed.
PseudonymKey = Annotated[str, msgspec.Meta(pattern=r"^$|^.{16,}$")]
EXPECTED = {"pseudonym_key": "empty, or a secret of at least 16 characters",
            "bootstrap": "HOST:PORT[,HOST:PORT...]", "log_level": "DEBUG, INFO, WARNING or ERROR",
            "log_format": "text or json", "memory_limit": "a size such as 512MB or 2GiB"}


class ConsumerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream consume`: Kafka topic to DuckDB file."""

    bootstrap: Annotated[str, msgspec.Meta(pattern=BOOTSTRAP)] = "127.0.0.1:9092"
    topic: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream.raw"
    group: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream"
    data_dir: Dir = "./data"
    partitions: Annotated[int, msgspec.Meta(ge=1)] = 3
    batch_max_records: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    poll_timeout_ms: Annotated[int, msgspec.Meta(ge=1)] = 500
    drain_timeout: Seconds = 0.0
    session_timeout_ms: Annotated[int, msgspec.Meta(ge=1000)] = 10_000
    store_retries: Annotated[int, msgspec.Meta(ge=0)] = 5
    snapshot_interval: Seconds = 10.0  # 0 = no snapshot
    # DuckDB's buffer pool defaults to 80% of RAM and keeps what it read: bounded, the
    # consumer's memory stays flat however large the store grows.
    memory_limit: Annotated[str, msgspec.Meta(pattern=MEMORY)] = "1GB"
    eduzz_zone: str = "America/Sao_Paulo"
    toolzz_zone: str = "America/Sao_Paulo"
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    metrics_port: Port = 9101  # 0 = no metrics server
    pseudonym_key: PseudonymKey = ""  # "" = forget refuses; suppression needs it to check
    # Kafka cannot delete one record: bodies of erased people stay in the raw topic this long
    # (suppression keeps them out of the store if replayed meanwhile). Applied when the topic
    # is created (here or by compose's topic service).
    raw_retention_ms: Annotated[int, msgspec.Meta(ge=3_600_000)] = 604_800_000

    def __post_init__(self) -> None:
        for name in ("eduzz_zone", "toolzz_zone"):
            try:
                ZoneInfo(getattr(self, name))
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"expected an IANA time zone name - at `$.{name}`") from None

    @property
    def db_path(self) -> Path:
        """The DuckDB file the consumer owns."""
        return Path(self.data_dir) / "learnstream.duckdb"

    @property
    def snapshot_path(self) -> Path:
        """The read-only copy published for readers while the consumer owns db_path."""
        return Path(self.data_dir) / SNAPSHOT_FILE

    def zones(self) -> dict[str, ZoneInfo]:
        """Zone of zoneless timestamps per source."""
        return {"eduzz": ZoneInfo(self.eduzz_zone), "toolzz": ZoneInfo(self.toolzz_zone)}


class LauncherSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream up` / `demo`: broker (embedded unless --bootstrap), receiver, consumer."""

    data_dir: Dir = "./data"
    http_port: Port = 8080
    broker_port: Port = 9092
    bootstrap: Annotated[str, msgspec.Meta(pattern=f"^$|{BOOTSTRAP}")] = ""  # "" = embedded
    topic: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream.raw"
    group: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream"
    eduzz_secrets: str = ""
    toolzz_token: str = ""
    allow_unsigned: bool = False
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    # Off by default: the stack is for development, and a fixed port would collide.
    metrics_port: Port = 0


class CheckSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream check`: is everything in place for the receiver and the consumer?"""

    bootstrap: Annotated[str, msgspec.Meta(pattern=BOOTSTRAP)] = "127.0.0.1:9092"
    topic: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream.raw"
    data_dir: Dir = "./data"
    eduzz_secrets: str = ""
    toolzz_token: str = ""
    check_timeout: Timeout = 5.0


class ReaderSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream report`, `sql`, `export`: read the snapshot the consumer publishes."""

    data_dir: Dir = "./data"
    snapshot: str = ""  # "" = <data_dir>/analytics.duckdb
    pseudonym_key: PseudonymKey = ""  # for --pseudonymize

    @property
    def snapshot_path(self) -> Path:
        """The snapshot file to read."""
        return Path(self.snapshot) if self.snapshot else Path(self.data_dir) / SNAPSHOT_FILE


class DemoSettings(LauncherSettings, frozen=True, kw_only=True):
    """`learnstream demo`: `up` on temporary ports, fed a journey simulator run."""

    learners: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 40


class BrokerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream broker`: the embedded Tansu broker alone (memory only)."""

    broker_port: Port = 9092


# Flags whose name differs from the field (the variable keeps the field's name).
FLAG_ALIASES: dict[str, dict[type, str]] = {"broker_port": {BrokerSettings: "--port"}}

S = TypeVar("S", ConsumerSettings, LauncherSettings, DemoSettings, BrokerSettings,
              CheckSettings, ReaderSettings)


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
    return load_with_args(cls, argv, prog, lambda _: None, environ)[0]


def load_with_args(cls: type[S], argv: Sequence[str], prog: str,
                   add_arguments: Callable[[argparse.ArgumentParser], None],
                   environ: Mapping[str, str] = os.environ) -> tuple[S, argparse.Namespace]:
    """`load`, for a command that also takes arguments of its own (a query, a format): those
    are per run, not settings, so they have no variable; (settings, all parsed arguments)."""
    parser = parser_for(cls, prog)
    add_arguments(parser)
    args = parser.parse_args(list(argv))
    fields = msgspec.structs.fields(cls)
    given = {f.name: getattr(args, f.name) for f in fields}
    values: dict[str, object] = {f.name: environ[env_name(f.name)] for f in fields
                                 if env_name(f.name) in environ}
    values.update({k: v for k, v in given.items() if v is not None})
    try:
        return msgspec.convert(values, cls, strict=False), args
    except (msgspec.ValidationError, ValueError) as exc:
        parser.exit(2, f"{prog}: {bad_setting(cls, exc, values)}\n")


def bad_setting(cls: type[S], exc: Exception, values: Mapping[str, object]) -> str:
    """One line naming the flag and variable of the field msgspec rejected, what it expects
    and what it got."""
    message, _, path = str(exc).rpartition(" - at `$.")
    field = path.rstrip("`")
    if not message or field not in values:
        return f"bad setting: {exc}"
    flag = FLAG_ALIASES.get(field, {}).get(cls, "--" + field.replace("_", "-"))
    # msgspec names the type it got (always `str` from a flag or variable): show the value.
    expected = f"expected {EXPECTED[field]}" if field in EXPECTED else re.sub(
        r"^Expected", "expected", re.sub(r", got `\w+`$", "", message))
    return f"bad setting ({flag} / {env_name(field)}): {expected}, got {values[field]!r}"
