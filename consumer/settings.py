"""Consumer-side settings: one frozen Struct per command, read once from flags or LEARNSTREAM_*
by the receiver's loader (ingest.settings), with this side's help and flag aliases."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from consumer.help import HELP
from ingest import settings as loader  # the loader every command shares
from ingest.settings import BOOTSTRAP, LOG_LEVEL, Timeout

Seconds = Annotated[float, msgspec.Meta(ge=0, le=86_400)]
MEMORY = r"^\d+(\.\d+)?\s*(B|[KMGT]i?B)$"  # DuckDB's size syntax: 512MB, 1GB, 2GiB
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
SNAPSHOT_FILE = "analytics.duckdb"
LogLevel = Annotated[str, msgspec.Meta(pattern=LOG_LEVEL)]
LogFormat = Literal["text", "json"]
Dir = Annotated[str, msgspec.Meta(min_length=1)]
# What a patterned or enumerated field expects, in words (msgspec would show the regex).
# Empty (no erasure, no pseudonyms) or long enough not to be guessed.
PseudonymKey = Annotated[str, msgspec.Meta(pattern=r"^$|^.{16,}$")]
EXPECTED = {**loader.EXPECTED, "memory_limit": "a size such as 512MB or 2GiB",
            "free_space_warning": "a size such as 512MB or 2GiB",
            "pseudonym_key": "empty, or a secret of at least 16 characters"}
Size = Annotated[str, msgspec.Meta(pattern=MEMORY)]
# A snapshot is a whole copy of the store: below this much free space in the data dir,
# `check` and the consumer warn.
FREE_SPACE_WARNING = "1GB"


class ConsumerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream consume`: Kafka topic to DuckDB file."""

    bootstrap: Annotated[str, msgspec.Meta(pattern=BOOTSTRAP)] = "127.0.0.1:9092"
    topic: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream.raw"
    group: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream"
    data_dir: Dir = "./data"
    partitions: Annotated[int, msgspec.Meta(ge=1)] = 3
    batch_max_records: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    poll_timeout_ms: Annotated[int, msgspec.Meta(ge=1)] = 500
    batch_linger_ms: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 200
    drain_timeout: Seconds = 0.0
    session_timeout_ms: Annotated[int, msgspec.Meta(ge=1000)] = 10_000
    store_retries: Annotated[int, msgspec.Meta(ge=0)] = 5
    snapshot_interval: Seconds = 10.0  # 0 = no snapshot
    # DuckDB's buffer pool defaults to 80% of RAM and keeps what it read: bounded, the
    # consumer's memory stays flat however large the store grows. At 1GB a fold of 450,000
    # rows at 10M events took 5.1 s against 4.3-4.5 at 1.5GB or 2GB (README "Performance").
    memory_limit: Size = "2GB"
    free_space_warning: Size = FREE_SPACE_WARNING
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
    dashboard_port: Port = 8050  # 0 = no dashboard


class CheckSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream check`: is everything in place for the receiver and the consumer?"""

    bootstrap: Annotated[str, msgspec.Meta(pattern=BOOTSTRAP)] = "127.0.0.1:9092"
    topic: Annotated[str, msgspec.Meta(min_length=1)] = "learnstream.raw"
    data_dir: Dir = "./data"
    eduzz_secrets: str = ""
    toolzz_token: str = ""
    check_timeout: Timeout = 5.0
    free_space_warning: Size = FREE_SPACE_WARNING


class ReaderSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream report`, `sql`, `export`: read the snapshot the consumer publishes."""

    data_dir: Dir = "./data"
    snapshot: str = ""  # "" = <data_dir>/analytics.duckdb
    pseudonym_key: PseudonymKey = ""  # for --pseudonymize

    @property
    def snapshot_path(self) -> Path:
        """The snapshot file to read."""
        return Path(self.snapshot) if self.snapshot else Path(self.data_dir) / SNAPSHOT_FILE


class DashboardSettings(ReaderSettings, frozen=True, kw_only=True):
    """`learnstream dashboard`: charts over the snapshot (loopback by default: e-mails)."""

    dashboard_host: Annotated[str, msgspec.Meta(min_length=1)] = "127.0.0.1"
    dashboard_port: Port = 8050
    dashboard_token: str = ""  # required to listen on anything but loopback
    dashboard_refresh: Timeout = 5.0  # how often the page asks whether a newer snapshot exists
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"


class DemoSettings(LauncherSettings, frozen=True, kw_only=True):
    """`learnstream demo`: `up` on temporary ports, fed a journey simulator run."""

    learners: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 40


class BrokerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`learnstream broker`: the embedded Tansu broker alone (memory only)."""

    broker_port: Port = 9092


# Flags whose name differs from the field (the variable keeps the field's name).
FLAG_ALIASES: dict[str, dict[type, str]] = {"broker_port": {BrokerSettings: "--port"}, **{
    f"dashboard_{x}": {DashboardSettings: f"--{x}"} for x in ("port", "host")}}

S = TypeVar("S", bound=msgspec.Struct)  # one of the settings Structs above


def load(cls: type[S], argv: Sequence[str], prog: str,
         environ: Mapping[str, str] = os.environ) -> S:
    """Settings from `environ`, overridden by flags; a bad value exits naming the variable."""
    return load_with_args(cls, argv, prog, lambda _: None, environ)[0]


def load_with_args(cls: type[S], argv: Sequence[str], prog: str,
                   add_arguments: Callable[[argparse.ArgumentParser], None],
                   environ: Mapping[str, str] = os.environ) -> tuple[S, argparse.Namespace]:
    """`load`, for a command that also takes arguments of its own (a query, a format): those
    are per run, not settings, so they have no variable; (settings, all parsed arguments)."""
    return loader.load_with_args(cls, argv, prog, HELP, environ=environ,
                                 add_arguments=add_arguments, expected=EXPECTED,
                                 aliases=FLAG_ALIASES)
