"""Every setting's bad value stops start-up with one line naming its flag and variable, what
was expected and what was given."""

from __future__ import annotations

import msgspec
import pytest

from consumer import settings as consumer_settings
from consumer.settings import (
    BrokerSettings,
    CheckSettings,
    ConsumerSettings,
    DashboardSettings,
    LauncherSettings,
    ReaderSettings,
)
from ingest import settings as ingest_settings
from ingest.settings import IngestSettings

# One bad value per setting name (a name means the same thing in every command).
BAD = {
    "host": "", "port": "http", "bootstrap": "kafka", "topic": "", "publish_timeout": "-1",
    "max_body_bytes": "0", "enable_idempotence": "maybe", "linger_ms": "-1",
    "max_batch_bytes": "10", "allow_unsigned": "sometimes", "max_in_flight": "0",
    "max_unverified_bytes": "0",
    "header_timeout": "0", "body_timeout": "soon", "log_level": "LOUD", "log_format": "xml",
    "workers": "0", "group": "", "data_dir": "", "partitions": "0", "batch_max_records": "0",
    "poll_timeout_ms": "0", "batch_linger_ms": "-1", "drain_timeout": "-1",
    "session_timeout_ms": "10",
    "store_retries": "-1", "eduzz_zone": "Mars/Olympus", "toolzz_zone": "Nowhere/Special",
    "metrics_port": "70000", "http_port": "-1", "broker_port": "99999", "check_timeout": "0",
    "snapshot_interval": "-1", "memory_limit": "lots", "free_space_warning": "plenty",
    "dashboard_port": "65536", "dashboard_host": "", "dashboard_refresh": "0",
    "pseudonym_key": "short", "raw_retention_ms": "60000",
}
# Any string is a valid secret or token: there is no bad value to refuse.
# A snapshot path may be empty (the default place) or any path.
FREE_FORM = {"eduzz_secrets", "toolzz_token", "snapshot", "dashboard_token"}
STRUCTS = [IngestSettings, ConsumerSettings, LauncherSettings, BrokerSettings, CheckSettings,
           ReaderSettings, DashboardSettings]
CASES = [(cls, f.name) for cls in STRUCTS for f in msgspec.structs.fields(cls)
         if f.name not in FREE_FORM]


def load(cls: type, environ: dict[str, str]) -> object:
    if cls is IngestSettings:
        return ingest_settings.load([], environ)
    return consumer_settings.load(cls, [], "learnstream x", environ)


def test_every_setting_has_a_bad_value_here():
    names = {f.name for cls in STRUCTS for f in msgspec.structs.fields(cls)}
    assert names - FREE_FORM == set(BAD)


@pytest.mark.parametrize(("cls", "field"), CASES,
                         ids=[f"{c.__name__}.{f}" for c, f in CASES])
def test_bad_value_stops_start_up_naming_the_variable(cls, field, capsys):
    var = ingest_settings.env_name(field)
    with pytest.raises(SystemExit) as stopped:
        load(cls, {var: BAD[field]})
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no usage text
    assert f"/ {var}): expected " in err, err
    assert err.rstrip().endswith(f"got {BAD[field]!r}"), err


def test_flag_errors_name_the_flag_too(capsys):
    with pytest.raises(SystemExit):
        consumer_settings.load(BrokerSettings, ["--port", "x"], "learnstream broker", {})
    assert "bad setting (--port / LEARNSTREAM_BROKER_PORT): expected `int`, got 'x'" in (
        capsys.readouterr().err)


def test_good_values_pass_and_log_level_is_case_insensitive():
    settings = ingest_settings.load(["--workers", "2"], {"LEARNSTREAM_LOG_LEVEL": "debug",
                                                         "LEARNSTREAM_LOG_FORMAT": "json"})
    assert (settings.workers, settings.log_level, settings.log_format) == (2, "debug", "json")


FLOATS = [(cls, f.name) for cls in STRUCTS for f in msgspec.structs.fields(cls)
          if isinstance(f.default, float)]


@pytest.mark.parametrize(("cls", "field"), FLOATS, ids=[f"{c.__name__}.{f}" for c, f in FLOATS])
def test_infinite_durations_are_refused(cls, field, capsys):
    """`inf` passes a lower bound; it used to crash the producer's timer or stop snapshots."""
    var = ingest_settings.env_name(field)
    with pytest.raises(SystemExit):
        load(cls, {var: "inf"})
    assert f"/ {var}): expected `float` <= 86400" in capsys.readouterr().err
