"""BI tools read the snapshot as Superset does: SQLAlchemy with duckdb-engine, read-only
(README "BI tools"). Every view is read and every table macro called through it, writes are
refused, and a new connection after a new snapshot sees it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text

from consumer.journeys import journeys
from consumer.snapshot import publish
from consumer.store import Store
from tests.browser import add_course, newest, replace
from tests.support.simulated import load

# Each table macro with arguments an analyst would give (relative to the newest event).
MACRO_CALLS = {
    "at_risk": "at_risk(:newest, 7)",
    "engagement": "engagement(:newest)",
    "course_funnel_between": "course_funnel_between(:newest - interval 30 day, :newest)",
    "course_funnel_days":
        "course_funnel_days(cast(:newest as date) - 30, cast(:newest as date))",
    "ordered_funnel": "ordered_funnel(14, :newest)",
    "purchase_funnel_between":
        "purchase_funnel_between(:newest - interval 30 day, :newest + interval 1 day)",
    **{m: f"{m}(fold_since())"
       for m in ("lesson_state", "module_state", "course_state", "lesson_catalogue",
                 "learner_days", "engagement_changes", "funnel_days", "ordered_steps",
                 "course_labels", "learner_weeks", "learner_activity",
                 "learner_activity_touched", "funnel_pairs", "funnel_pairs_touched")},
    "cover_changes": "cover_changes('learner_days_pending')",
    **{m: f"{m}(commerce_fold_since())"
       for m in ("invoice_state", "invoice_changes", "refund_progress", "mapping_state",
                 "purchase_state", "purchase_state_touched", "purchase_state_learners",
                 "refund_progress_learners", "purchase_rows")},
}


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    directory = tmp_path_factory.mktemp("bi")
    store = Store(directory / "learnstream.duckdb")
    load(store, journeys(80, 5, sales=True))
    publish(store, directory / "first.duckdb")
    add_course(store, "alpaclass:next", "Next course", 4, newest(store) + timedelta(hours=1))
    publish(store, directory / "second.duckdb")
    store.close()
    replace(directory / "first.duckdb", directory / "analytics.duckdb")
    return directory / "analytics.duckdb", directory / "first.duckdb", directory / "second.duckdb"


def engine(path: Path) -> sqlalchemy.Engine:
    """The connection Superset makes from the README's URI and engine parameters."""
    return sqlalchemy.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})


def test_every_view_and_table_macro_through_sqlalchemy_read_only(snapshots):
    e = engine(snapshots[0])
    with e.connect() as con:
        views = sorted(r[0] for r in con.execute(text(
            "select view_name from duckdb_views() where not internal and schema_name = 'main'")))
        macros = sorted(r[0] for r in con.execute(text(
            "select distinct function_name from duckdb_functions() "
            "where function_type = 'table_macro' and not internal and schema_name = 'main'")))
        assert sorted(MACRO_CALLS) == macros  # a new macro needs a call here
        assert {"course_funnel", "engagement_daily_all", "snapshot_info"} <= set(views)
        latest = con.execute(text("select max(occurred_at) from learning_events")).scalar()
        empty = []
        for view in views:
            rows = con.execute(text(f'select * from "{view}"')).fetchall()
            if not rows:
                empty.append(view)
        for name, call in MACRO_CALLS.items():
            rows = con.execute(text(f"select * from {call}"), {"newest": latest}).fetchall()
            if not rows:
                empty.append(name)
        # The simulator has no dead letters or conflicting copies, a published snapshot
        # has every event folded (no learner days pending), and this run maps no product
        # (mapping_state is product_courses as folded); everything else has rows.
        assert set(empty) <= {"conflicting_duplicates", "learner_days_pending",
                              "cover_changes", "mapping_state"}, empty
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only"):
            con.execute(text("delete from raw_events"))
    e.dispose()


def test_a_new_connection_sees_a_newer_snapshot(snapshots):
    served, first, second = snapshots
    e = engine(served)
    count = "select count(*) from course_funnel where course_key = 'alpaclass:next'"
    with e.connect() as con:
        assert con.execute(text(count)).scalar() == 0
        replace(second, served)
        # A connection open across the swap keeps the file it opened (as a Superset pool
        # would): the new courses are not there...
        assert con.execute(text(count)).scalar() == 0
    e.dispose()  # ...until the pool's connections are closed and opened again.
    e = engine(served)
    with e.connect() as con:
        assert con.execute(text(count)).scalar() == 1
    e.dispose()
    replace(first, served)
