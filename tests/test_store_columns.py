"""Raw and learning rows go into the store as one insert from numpy object columns
(consumer/store/db.py COLUMNAR): every value must land as the appender landed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb
from msgspec.structs import astuple

from consumer.rows import Batch, Decoded, LearningRow, RawRow
from consumer.store import Store, apply_schema, db
from consumer.store.schema import appenders

SP = ZoneInfo("America/Sao_Paulo")


def _rows() -> list[tuple[RawRow, list[LearningRow]]]:
    """Rows whose columns are None for the first 3,000 rows and set after (a scan that typed
    a column from its first values would lose them), in three zones, with text DuckDB must
    keep byte for byte, numbers at their limits and a message with several rows."""
    out = []
    for i in range(3_100):
        late = i >= 3_000
        zone = (SP, UTC, timezone(timedelta(hours=5, minutes=30)))[i % 3]
        at = datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=zone) + timedelta(minutes=i)
        uid = f"eduzz:{i}"
        row = LearningRow(
            uid, "alpaclass", "alpaclass.student_lesson_finished", "lesson_completed", at,
            datetime(2024, 3, 1, 12, tzinfo=UTC), school_key="alpaclass:s1" if late else None,
            school_name="Escola Ação \u00e7\u0000x" if late else None,
            learner_key=f"a{i}@x.com", learner_id=str(i) if late else None,
            learner_email=f"a{i}@x.com", learner_name="Zoë 🎓" if late else None,
            course_key="alpaclass:c1", course_name="Curso", module_key=None,
            lesson_key=f"alpaclass:l{i}", progress=(i / 7) if late else None,
            rating=5.0 if late else None, comment="x" * 5000 if i == 3_099 else None,
            kafka_partition=i % 3, kafka_offset=2**40 + i)
        rows = [row]
        if i % 1000 == 999:  # one message, two courses
            rows.append(LearningRow(**{**{f: getattr(row, f) for f in row.__struct_fields__},
                                       "course_key": "alpaclass:c2"}))
        out.append((RawRow(uid, "eduzz", None if i % 5 == 0 else row.event_type,
                           row.received_at, at if late else None,
                           f'{{"id": "{i}", "a": "Ação 🎓"}}', row.kafka_partition,
                           row.kafka_offset), rows))
    return out


def test_learning_rows_land_as_the_appender_lands_them(tmp_path):
    assert {"raw_events", "learning_events"} <= db.COLUMNAR
    events = _rows()
    batch = Batch()
    for r, rows in events:
        batch.add(r.kafka_partition, r.kafka_offset, Decoded(r, rows, [], None))
    store = Store(tmp_path / "db.duckdb")
    store.write(batch, "t")
    columns = [*LearningRow.__struct_fields__, "stored_seq"]
    listed = ", ".join(columns)
    _, stored = store.query(f"select {listed} from learning_events order by stored_seq")
    _, raws = store.query("select * from raw_events order by kafka_offset")
    store.close()
    assert raws == [astuple(r) for r, _ in events]
    # The same rows through an appender, into a store of the same schema.
    con = duckdb.connect()
    apply_schema(con)
    appender = appenders(con)["learning_events"]
    appender.append_rows([(*astuple(row), seq) for seq, row in
                          enumerate(row for _, rows in events for row in rows)])
    appender.flush()
    expected = con.execute(f"select {listed} from learning_events order by stored_seq"
                           ).fetchall()
    assert len(stored) == 3_103
    assert [row[:-1] for row in stored] == [row[:-1] for row in expected]
    assert [row[-1] for row in stored] == list(range(stored[0][-1], stored[0][-1] + 3_103))
