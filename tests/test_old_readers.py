"""The snapshot opens in DuckDB 1.x (issue 15): analysts' CLIs, JDBC and BI drivers still
ship it, and DuckDB 2's own storage format is version 69, which 1.x refuses. The store is
written in a format 1.0 reads (STORAGE_VERSION), so its snapshot, a copy of the file, is too.

The newest 1.x from PyPI runs in a venv this test creates (once per session); without
network to install it, the test skips and says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from consumer.journeys import Delivery, journeys
from consumer.snapshot import publish
from consumer.store import ReadOnly, Store
from tests.support.oracle import expected
from tests.support.simulated import SMALL, load

DUCKDB_1 = "1.5.6"  # the newest 1.x on PyPI when this was written
NOW = {"snapshot_info": "age_seconds"}  # columns computed from now()

# Run inside the 1.x venv: every relation's rows as text (DuckDB casts, so a Python client
# without pytz reads timestamps too), or the error.
PROBE = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
out = {"version": duckdb.__version__, "rows": {}, "errors": {}}
for relation in json.loads(sys.stdin.read()):
    try:
        rows = con.execute(f"select cast(columns(*) as varchar) from {relation}").fetchall()
        out["rows"][relation] = sorted(map(list, rows), key=repr)
    except Exception as exc:
        out["errors"][relation] = str(exc).splitlines()[0]
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def duckdb1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a venv holding DuckDB 1.x, made once per session."""
    home = tmp_path_factory.mktemp(f"duckdb-{DUCKDB_1}")
    # No pip of its own (ensurepip took 3-12 s): this interpreter's pip installs into it.
    venv.create(home, with_pip=False)
    python = home / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "-q", f"duckdb=={DUCKDB_1}"],
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"cannot install duckdb=={DUCKDB_1} from PyPI ({last}): the 1.x reader "
                    "test needs the network once per session")
    return python


def comparable(rows: list[list[str | None]]) -> list[list[str | None]]:
    """Rows as text, doubles to 12 significant digits: the two versions print a double's
    last digit differently (2.0950254629629628 and 2.095025462962963), and a quantile may
    differ in the last bit."""
    def cell(text: str | None) -> str | None:
        if text is None or "." not in text:
            return text
        try:
            return f"{float(text):.12g}"
        except ValueError:
            return text
    return [[cell(c) for c in row] for row in rows]


def run() -> list[Delivery]:
    """The small simulated run with purchases, so the sales views and macro have rows."""
    return journeys(*SMALL, sales=True)


def relations(snapshot: Path) -> list[str]:
    """Every view, and every table macro called: the calls the oracle checks, and the
    current-state macros on what is not folded yet."""
    with ReadOnly(snapshot) as db:
        views = [v for (v,) in db.query("select view_name from duckdb_views() "
                                        "where not internal order by 1")[1]]
        macros = {m for (m,) in db.query("select function_name from duckdb_functions() "
                                         "where function_type = 'table_macro' "
                                         "and not internal")[1]}
    calls = sorted({a.relation for a in expected(run()) if "(" in a.relation})
    calls += [f"{m}(fold_since())" for m in ("lesson_state", "module_state", "course_state",
                                             "lesson_catalogue", "learner_days",
                                             "engagement_changes", "funnel_days",
                                             "ordered_steps", "course_labels",
                                             "learner_weeks", "learner_activity",
                                             "learner_activity_touched", "funnel_pairs",
                                             "funnel_pairs_touched")]
    calls += ["cover_changes('learner_days_pending')"]
    calls += [f"{m}(commerce_fold_since())" for m in ("invoice_state", "invoice_changes",
                                                      "refund_progress", "mapping_state",
                                                      "purchase_state", "purchase_rows",
                                                      "purchase_state_touched",
                                                      "purchase_state_learners",
                                                      "refund_progress_learners")]
    assert {c.split("(", 1)[0] for c in calls} == macros, "a table macro is never called"
    # The snapshot's age is measured at query time: the two readers ask at different times.
    views = [f"(select * exclude ({NOW[v]}) from {v})" if v in NOW else v for v in views]
    return views + calls


@pytest.mark.parametrize("rewritten", [False, True], ids=["as-written", "rewritten"])
def test_the_snapshot_opens_in_duckdb_1x_and_every_view_and_macro_answers_the_same(
        duckdb1, tmp_path, rewritten):
    """Also once the file was rewritten as `forget` does (Store.rewrite: tables copied side
    by side into a file made from sql/, raw_events's primary key added after its rows)."""
    store = Store(tmp_path / "learnstream.duckdb")
    load(store, run())
    if rewritten:
        store.rewrite()
    snapshot = tmp_path / "analytics.duckdb"
    publish(store, snapshot)
    store.close()
    wanted = [*relations(snapshot), "raw_events"]

    done = subprocess.run([str(duckdb1), "-c", PROBE, str(snapshot)], input=json.dumps(wanted),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    old = json.loads(done.stdout)
    assert old["version"] == DUCKDB_1
    assert old["errors"] == {}, old["errors"]

    with ReadOnly(snapshot) as db:  # the same text from DuckDB 2, the writer
        for relation in wanted:
            rows = db.query(f"select cast(columns(*) as varchar) from {relation}")[1]
            assert comparable(old["rows"][relation]) == comparable(
                sorted(map(list, rows), key=repr)), relation
    print(f"\nduckdb {DUCKDB_1} read {len(wanted)} views and macro calls of a "
          f"{snapshot.stat().st_size / 1e6:.1f} MB snapshot, each equal to DuckDB "
          f"{sys.modules['duckdb'].__version__}'s answer")
