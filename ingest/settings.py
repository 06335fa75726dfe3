"""Receiver settings: one frozen Struct, read once at the edge from flags or LEARNSTREAM_* vars."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from typing import Annotated

import msgspec

ENV_PREFIX = "LEARNSTREAM_"


class IngestSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything `learnstream ingest` can be told; field name = flag = variable."""

    host: Annotated[str, msgspec.Meta(description="Address the receiver listens on.")] = (
        "0.0.0.0"
    )
    port: Annotated[int, msgspec.Meta(ge=0, le=65535, description="HTTP port.")] = 8080
    bootstrap: Annotated[str, msgspec.Meta(min_length=1, description="Kafka HOST:PORT list.")] = (
        "127.0.0.1:9092"
    )
    topic: Annotated[str, msgspec.Meta(min_length=1, description="Kafka topic for raw webhooks.")] = (
        "learnstream.raw"
    )
    publish_timeout: Annotated[
        float, msgspec.Meta(gt=0, description="Seconds to wait for the broker's ack before 503.")
    ] = 5.0
    max_body_bytes: Annotated[
        int, msgspec.Meta(ge=1, description="Largest accepted body; larger gets 413.")
    ] = 1024 * 1024
    enable_idempotence: Annotated[
        bool, msgspec.Meta(description="aiokafka idempotent producer (Tansu rejects it).")
    ] = False
    linger_ms: Annotated[int, msgspec.Meta(ge=0, description="Producer batching delay.")] = 2
    max_batch_bytes: Annotated[
        int, msgspec.Meta(ge=1024, description="Producer batch size per partition.")
    ] = 512 * 1024
    log_level: Annotated[str, msgspec.Meta(description="DEBUG, INFO, WARNING or ERROR.")] = "INFO"


def env_name(field: str) -> str:
    """The environment variable that sets `field`."""
    return ENV_PREFIX + field.upper()


def load(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> IngestSettings:
    """Build settings from `environ`, overridden by flags in `argv`; exit with a clear message."""
    fields = msgspec.structs.fields(IngestSettings)
    parser = argparse.ArgumentParser(prog="learnstream ingest", description=IngestSettings.__doc__)
    for f in fields:
        flag = "--" + f.name.replace("_", "-")
        if f.type is bool:
            parser.add_argument(flag, dest=f.name, action="store_const", const="true")
        else:
            parser.add_argument(flag, dest=f.name, metavar=env_name(f.name))
    given = vars(parser.parse_args(list(argv)))
    values: dict[str, object] = {f.name: environ[env_name(f.name)] for f in fields
                                 if env_name(f.name) in environ}
    values.update({k: v for k, v in given.items() if v is not None})
    try:
        return msgspec.convert(values, IngestSettings, strict=False)
    except msgspec.ValidationError as exc:
        parser.error(f"bad setting ({_name_in(str(exc))}): {exc}")
        raise  # unreachable: parser.error exits


def _name_in(message: str) -> str:
    """Turn msgspec's ``$.field`` path into the flag and variable the user actually sets."""
    if "`$." not in message:
        return "settings"
    field = message.rsplit("`$.", 1)[1].rstrip("`")
    return f"--{field.replace('_', '-')} / {env_name(field)}"
