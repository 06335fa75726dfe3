"""Architecture rules that code review would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_ingest_never_imports_the_consumer():
    # The edge must run alone; the consumer may use ingest's small modules (one place each).
    for path in modules("ingest"):
        bad = {n for n in imports(path) if n == "consumer" or n.startswith("consumer.")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_the_store_package_imports_duckdb():
    users = [p.relative_to(ROOT).as_posix() for pkg in ("ingest", "consumer")
             for p in modules(pkg) if any(n.split(".")[0] == "duckdb" for n in imports(p))]
    assert users and all(u.startswith("consumer/store/") for u in users), users


def test_modules_stay_small():
    for pkg in ("ingest", "consumer"):
        for path in modules(pkg):
            lines = len(path.read_text().splitlines())
            assert lines <= 200, f"{path.relative_to(ROOT)} has {lines} lines"
