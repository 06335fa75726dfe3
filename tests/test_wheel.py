"""The package as users install it (and as the Dockerfile does): the wheel, installed into a
fresh venv with the `embedded` extra, run from a directory outside the checkout with no
PYTHONPATH. Every other test runs from an editable install, which cannot show a subpackage or
a SQL file missing from the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import duckdb
import pytest

from consumer.cli import USAGE
from consumer.journeys import identity, journeys
from consumer.ops.demo import SEED
from consumer.sources.catalog import markdown
from tests.support.package import ROOT, build_wheel

pytestmark = pytest.mark.slow


class Installed:
    def __init__(self, root: Path, wheel: Path) -> None:
        self.wheel = wheel
        self.venv = root / "venv"
        self.cwd = root / "elsewhere"  # not the checkout: nothing importable from here
        self.cwd.mkdir()
        bin_dir = self.venv / "bin"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
        }
        self.env["PATH"] = f"{bin_dir}{os.pathsep}{self.env.get('PATH', '')}"
        self.python = str(bin_dir / "python")

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(root / "build")
    # No pip of its own (ensurepip took 3-12 s): this interpreter's pip installs into it
    # (`--python`), so the venv holds the wheel and its dependencies and nothing else.
    venv.create(root / "venv", with_pip=False)
    inst = Installed(root, wheel)
    # Not editable, the wheel file itself; pip's cache makes the dependencies quick.
    # --no-compile: byte-compiling every module of the dependencies (plotly's thousands) was
    # a third of the install's CPU; what the tests run is compiled when first imported.
    pip = inst.run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        inst.python,
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        f"{wheel}[embedded]",
        timeout=900,
    )
    assert pip.returncode == 0, pip.stderr
    return inst


def checkout_files() -> set[str]:
    """Every module of the three packages and every schema file, as wheel entry names."""
    found = set()
    for package in ("ingest", "consumer", "sql"):
        for path in (ROOT / package).rglob("*"):
            if path.suffix in (".py", ".sql") and "__pycache__" not in path.parts:
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_the_wheel_holds_every_module_and_sql_file_and_no_test_code(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    shipped = {n for n in names if n.endswith((".py", ".sql"))}
    assert shipped == checkout_files()
    assert any(n.startswith("sql/views/") for n in shipped)  # the schema's subfolders ship
    assert not any(n.startswith("tests/") for n in names)


def test_the_installed_package_is_the_venv_copy_not_the_checkout(installed):
    where = installed.run(
        installed.python,
        "-c",
        "import consumer, ingest, sql; print(consumer.__file__, ingest.__file__, sql.__file__)",
    )
    assert where.returncode == 0, where.stderr
    for path in where.stdout.split():
        assert Path(path).is_relative_to(installed.venv), path
    # The oracle is test code: the simulator ships, its expected answers do not.
    oracle = installed.run(installed.python, "-c", "import tests.support.oracle")
    assert oracle.returncode == 1 and "No module named 'tests'" in oracle.stderr


def test_learnstream_help_and_events_run_from_the_wheel(installed):
    helped = installed.run("learnstream", "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.strip() == USAGE.strip()
    events = installed.run("learnstream", "events")
    assert events.returncode == 0, events.stderr
    assert events.stdout == markdown()  # the installed decoders know every event


def test_learnstream_demo_runs_from_the_wheel(installed, tmp_path):
    result = installed.run(
        "learnstream", "demo", "--learners", "3", "--data-dir", str(tmp_path), timeout=300
    )
    assert result.returncode == 0, result.stderr
    sent = journeys(3, SEED, sales=True)
    events = len({identity(d) for d in sent})
    assert (
        f"posted {len(sent)} webhooks of 3 simulated learners and their purchases "
        f"({len(sent) - events} of them redeliveries): {len(sent)} x 200" in result.stdout
    )
    # The installed schema made every view: the demo's own report reads course_funnel.
    assert "course_funnel:" in result.stdout
    with duckdb.connect(str(tmp_path / "learnstream.duckdb"), read_only=True) as db:
        assert db.execute("select count(*) from raw_events").fetchone() == (events,)
        assert db.execute("select count(*) from dead_letters").fetchone() == (0,)
