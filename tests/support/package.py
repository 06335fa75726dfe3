"""The package as users install it: the wheel, built from the files the Dockerfile copies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
# What the wheel is made of, and all the Dockerfile's build stage copies (test_compose).
SOURCES = ("pyproject.toml", "README.md", "ingest", "consumer", "sql")


def build_wheel(out: Path) -> Path:
    """The wheel of the checkout's sources, built from a copy so the checkout gets no build/
    or egg-info and nothing the copy lacks can reach the wheel."""
    src = out / "src"
    src.mkdir(parents=True)
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy2(ROOT / name, src / name)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(out / "dist"),
            str(src),
        ],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (out / "dist").glob("learnstream-*.whl")
    return wheel
