"""Architecture rules that code review would otherwise have to remember."""

from __future__ import annotations

import ast
import tomllib
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


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def test_no_import_cycles():
    # The rebalance listener gets the store's offsets and a lock, not the worker (aiokafka's
    # local_state_consumer shape): nothing the worker imports imports the worker back.
    paths = [*modules("ingest"), *modules("consumer")]
    names = {module_name(p) for p in paths}
    graph = {}
    for path in paths:
        found = set()
        for name in imports(path):
            found |= {n for n in (name, *(f"{name}.{a}" for a in imported_names(path, name)))
                      if n in names}
        graph[module_name(path)] = found - {module_name(path)}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n}))
                   for n in graph[start])

    cyclic = sorted(m for m in graph if reaches(m, m, {m}))
    assert cyclic == [], cyclic


def imported_names(path: Path, module: str) -> set[str]:
    """The names `from module import ...` takes (submodules among them)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            and node.module == module for alias in node.names}


def test_complexity_rules_replace_a_line_count():
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert {"C90", "PLR0911", "PLR0912", "PLR0915"} <= set(lint["select"])
    assert lint["mccabe"]["max-complexity"] <= 10


def test_tests_share_helpers_through_conftest_or_support_not_each_other():
    borrowed = {p.name: sorted(n for n in imports(p) if n.startswith("tests.test_"))
                for p in (ROOT / "tests").rglob("*.py")}
    assert {name: found for name, found in borrowed.items() if found} == {}
