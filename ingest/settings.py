"""Receiver settings: one frozen Struct, read once at the edge from flags or LEARNSTREAM_* vars.

The loader (`load_with_args`: flags over variables, a bad value exits naming both) is every
command's: the consumer-side settings import it with their own structs and help.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Literal, TypeVar

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


S = TypeVar("S", bound=msgspec.Struct)


def load(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> IngestSettings:
    """Settings from `environ`, overridden by flags; a bad value exits naming the variable."""
    return load_with_args(IngestSettings, argv, "learnstream ingest", HELP, environ=environ)[0]


def flag_name(cls: type, field: str, aliases: Mapping[str, Mapping[type, str]]) -> str:
    """The flag that sets `field` of `cls`: `--field-name` unless aliased for that struct."""
    return aliases.get(field, {}).get(cls, "--" + field.replace("_", "-"))


def load_with_args(cls: type[S], argv: Sequence[str], prog: str, help: Mapping[str, str], *,
                   environ: Mapping[str, str] = os.environ,
                   add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
                   expected: Mapping[str, str] = EXPECTED,
                   aliases: Mapping[str, Mapping[type, str]] | None = None,
                   ) -> tuple[S, argparse.Namespace]:
    """`cls` from `environ`, overridden by one flag per field (`help` says what each means).
    A command that also takes arguments of its own (a query, a format) adds them with
    `add_arguments`: those are per run, not settings, so they have no variable. A bad value
    exits 2 with one line naming the flag and the variable; (settings, all parsed arguments)."""
    aliases = aliases or {}
    fields = msgspec.structs.fields(cls)
    parser = argparse.ArgumentParser(prog=prog, description=cls.__doc__)
    for f in fields:
        extra = {"action": "store_const", "const": "true"} if f.type is bool else {
            "metavar": env_name(f.name)}
        parser.add_argument(flag_name(cls, f.name, aliases), dest=f.name,
                            help=f"{help[f.name]} (default: {f.default!r})",
                            **extra)  # type: ignore[arg-type]
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(list(argv))
    values: dict[str, object] = {f.name: environ[env_name(f.name)] for f in fields
                                 if env_name(f.name) in environ}
    values.update({f.name: getattr(args, f.name) for f in fields
                   if getattr(args, f.name) is not None})
    try:
        return msgspec.convert(values, cls, strict=False), args
    except (msgspec.ValidationError, ValueError) as exc:  # ValueError: a __post_init__ check
        message, _, path = str(exc).rpartition(" - at `$.")
        field = path.rstrip("`")
        if not message or field not in values:
            parser.exit(2, f"{prog}: bad setting: {exc}\n")
        # msgspec names the type it got (always `str` from a flag or variable): show the value.
        wanted = f"expected {expected[field]}" if field in expected else re.sub(
            r"^Expected", "expected", re.sub(r", got `\w+`$", "", message))
        parser.exit(2, f"{prog}: bad setting ({flag_name(cls, field, aliases)} / "
                       f"{env_name(field)}): {wanted}, got {values[field]!r}\n")
