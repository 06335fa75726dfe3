"""`learnstream report`, `sql` and `export` on a real snapshot, and the README's notebook code
run as written."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from consumer.cli import main
from consumer.snapshot import publish
from consumer.store import Store
from tests.test_store import batch_of, learn, raw

ROOT = Path(__file__).parent.parent
CLI = [sys.executable, "-c", "from consumer.cli import main; main()"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose snapshot holds two courses: c1 with three learners (one finished,
    one inactive for weeks), c2 with one."""
    root = tmp_path_factory.mktemp("data")
    store = Store(root / "learnstream.duckdb")
    events = [
        ("a1", "a@x.com", "alpaclass:c1", "lesson_completed", 0),
        ("a2", "a@x.com", "alpaclass:c1", "course_completed", 60 * 24 * 20),
        ("b1", "b@x.com", "alpaclass:c1", "lesson_completed", 60),
        ("c1", "c@x.com", "alpaclass:c1", "lesson_seen", 60 * 24 * 19),
        ("d1", "d@x.com", "alpaclass:c2", "lesson_completed", 60 * 24 * 20),
    ]
    store.write(batch_of(*((raw(uid, i), [learn(uid, i, action, minutes, lesson="l1",
                                                learner=learner, course=course)])
                           for i, (uid, learner, course, action, minutes)
                           in enumerate(events))), "t")
    publish(store, root / "analytics.duckdb")
    store.close()
    return root


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`learnstream argv...` in this process: (exit status, stdout, stderr)."""
    try:
        main(list(argv))
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # rich cuts cells to the terminal's width


def test_sql_prints_a_table_csv_and_json(data_dir, capsys):
    query = "select learner_key, count(*) as n from learning_events group by 1 order by 1"
    status, out, _ = run_main(capsys, "sql", "--data-dir", str(data_dir), query)
    assert status == 0
    assert re.search(r"learner_key\s+n\s*\n", out)
    assert re.search(r"a@x\.com\s+2\s*\n", out) and re.search(r"d@x\.com\s+1\s*\n", out)
    status, out, _ = run_main(capsys, "sql", "--data-dir", str(data_dir), "--format", "csv",
                              query)
    assert status == 0
    assert list(csv.reader(io.StringIO(out))) == [
        ["learner_key", "n"], ["a@x.com", "2"], ["b@x.com", "1"], ["c@x.com", "1"],
        ["d@x.com", "1"]]
    status, out, _ = run_main(capsys, "sql", "--snapshot", str(data_dir / "analytics.duckdb"),
                              "--format", "json", "select as_of, events, offsets, null as x, "
                              "1.50::decimal(5, 2) as price from snapshot_info")
    assert status == 0
    [row] = json.loads(out)
    assert list(row) == ["as_of", "events", "offsets", "x", "price"]
    assert row["events"] == 5 and row["x"] is None and row["price"] == "1.50"
    assert row["offsets"] == [{"topic": "t", "partition": 0, "next_offset": 5}]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$", row["as_of"])


def test_bad_sql_and_writes_fail_on_one_line(data_dir, capsys):
    for statement, message in (("selec 1", "Parser Error: syntax error at or near"),
                               ("select * from nope", "Table with name nope does not exist"),
                               ("delete from raw_events", "read-only mode"),
                               ("", "no SQL statement to run"),
                               ("-- a comment", "no SQL statement to run")):
        status, out, err = run_main(capsys, "sql", "--data-dir", str(data_dir), statement)
        assert status == 1 and out == ""
        assert err.startswith("learnstream sql: ") and message in err, err
        assert err.count("\n") == 1, err
    assert duckdb.connect(str(data_dir / "analytics.duckdb"), read_only=True).execute(
        "select count(*) from raw_events").fetchone() == (5,)


def test_a_missing_snapshot_says_how_to_make_one_and_exits_2(tmp_path):
    for command in (["report"], ["sql", "select 1"], ["export", "--out", str(tmp_path / "o")]):
        result = subprocess.run([*CLI, *command, "--data-dir", str(tmp_path / "nowhere")],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result
        expected = (f"learnstream {command[0]}: no snapshot at "
                    f"{tmp_path / 'nowhere' / 'analytics.duckdb'}: the consumer publishes it")
        assert result.stderr.startswith(expected), result.stderr
        assert result.stderr.count("\n") == 1
    result = subprocess.run([*CLI, "sql", "select 1", "--snapshot", str(tmp_path / "x.duckdb")],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "LEARNSTREAM_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and str(tmp_path / "x.duckdb") in result.stderr


def test_report_shows_funnel_engagement_and_at_risk(data_dir, capsys):
    status, out, _ = run_main(capsys, "report", "--data-dir", str(data_dir))
    assert status == 0
    assert out.startswith(f"{data_dir / 'analytics.duckdb'}: as of ")
    assert ", 5 events, 0 dead letters" in out.splitlines()[0]
    funnel, engagement, at_risk = (out.split("\nFunnel", 1)[1].split("\nEngagement")[0],
                                   out.split("\nEngagement", 1)[1].split("\nAt risk")[0],
                                   out.split("\nAt risk", 1)[1])
    # course, name, learners, enrolled, started, lesson, module, done, done %
    assert re.search(r"alpaclass:c1\s+Course One\s+3\s+0\s+3\s+2\s+0\s+1\s+33\.3", funnel)
    assert re.search(r"alpaclass:c2\s+Course One\s+1\s+0\s+1\s+1\s+0\s+0\s+0", funnel)
    # The newest event's day: c2's learner and c1's finisher were active; c@x.com the day
    # before; b@x.com weeks ago.
    assert re.search(r"alpaclass:c1\s+Course One\s+2024-01-30\s+1\s+2\s+3", engagement)
    assert re.search(r"alpaclass:c2\s+Course One\s+2024-01-30\s+1\s+1\s+1", engagement)
    assert re.search(r"b@x\.com\s+alpaclass:c1\s+2024-01-10\s+19", at_risk)
    assert "c@x.com" not in at_risk and "a@x.com" not in at_risk


def test_report_for_one_course_and_an_unknown_one(data_dir, capsys):
    status, out, _ = run_main(capsys, "report", "--data-dir", str(data_dir),
                              "--course", "alpaclass:c2", "--limit", "5")
    assert status == 0
    assert "alpaclass:c2" in out and "alpaclass:c1" not in out
    assert "nobody" in out.split("\nAt risk", 1)[1]  # its only learner is active
    status, out, err = run_main(capsys, "report", "--data-dir", str(data_dir),
                                "--course", "alpaclass:nope")
    assert status == 1 and err.startswith("learnstream report: no course 'alpaclass:nope'")
    status, out, _ = run_main(capsys, "report", "--data-dir", str(data_dir), "--limit", "1")
    assert status == 0 and "1 of 2; --limit N shows more" in out


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_writes_every_table_and_view_with_all_rows(data_dir, tmp_path, capsys, fmt):
    out_dir = tmp_path / "export"
    status, out, err = run_main(capsys, "export", "--data-dir", str(data_dir),
                                "--format", fmt, "--out", str(out_dir))
    assert status == 0, err
    snap = duckdb.connect(str(data_dir / "analytics.duckdb"), read_only=True)
    names = [n for (n,) in snap.execute(
        "select table_name from duckdb_tables() where not internal union all "
        "select view_name from duckdb_views() where not internal").fetchall()]
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(f"{n}.{fmt}" for n in names)
    reader = "read_parquet" if fmt == "parquet" else "read_csv_auto"
    files = duckdb.connect()  # reads the exported files
    total = 0
    for name in names:
        source = snap.execute(f"select count(*) from {name}").fetchone()[0]
        written = files.execute(f"select count(*) from {reader}('{out_dir / name}.{fmt}')"
                                ).fetchone()[0]
        assert written == source, name
        total += source
    assert files.execute(f"select * from {reader}('{out_dir}/learning_events.{fmt}') "
                         "order by kafka_offset").fetchall()[0][0] == "a1"
    snap.close()
    assert out == f"exported {len(names)} tables and views ({total} rows) from " \
                  f"{data_dir / 'analytics.duckdb'} to {out_dir}\n"


def test_readme_notebook_code_runs_as_written(data_dir, tmp_path):
    """The README's "Explore in a notebook" block, run in a directory whose
    data/analytics.duckdb is a snapshot: the DataFrame is printed and the chart drawn."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Explore in a notebook", 1)[1].split("\n## ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "analytics.duckdb").write_bytes(
        (data_dir / "analytics.duckdb").read_bytes())
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    assert "alpaclass:c1" in result.stdout and "alpaclass:c2" in result.stdout
    assert (tmp_path / "funnel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
async def test_analysts_query_while_the_consumer_process_ingests(broker, topic, tmp_path):
    """`learnstream sql` and `report` read the snapshot of a running `learnstream consume`,
    which holds its own file: nothing to stop first."""
    from aiokafka import AIOKafkaProducer

    from tests.test_snapshot import lesson_event

    def learnstream(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args, "--data-dir", str(tmp_path)], capture_output=True,
                              text=True, timeout=60, env={**os.environ, "COLUMNS": "160"})

    consumer = await asyncio.create_subprocess_exec(
        *CLI, "consume", "--bootstrap", broker.bootstrap, "--topic", topic, "--group", topic,
        "--data-dir", str(tmp_path), "--snapshot-interval", "0.5", "--poll-timeout-ms", "100",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert consumer.stdout is not None
        ready = await asyncio.wait_for(consumer.stdout.readline(), 60)
        assert ready.decode() == (f"consumer ready: {tmp_path / 'learnstream.duckdb'} "
                                  f"(readers: {tmp_path / 'analytics.duckdb'})\n")
        started = await asyncio.to_thread(learnstream, "sql", "--format", "json",
                                          "select events from snapshot_info")
        assert json.loads(started.stdout) == [{"events": 0}], started.stderr  # ready: a file
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        for i in range(100):
            await producer.send(topic, lesson_event(topic, i), headers=[("source", b"eduzz")])
        await producer.stop()
        seen = []
        for _ in range(120):
            result = await asyncio.to_thread(learnstream, "sql", "--format", "csv",
                                             "select events from snapshot_info")
            assert result.returncode == 0, result.stderr
            seen.append(int(result.stdout.splitlines()[1]))
            if seen[-1] == 100:
                break
            await asyncio.sleep(0.25)
        assert seen[-1] == 100 and seen == sorted(seen), seen
        report = await asyncio.to_thread(learnstream, "report")
        assert report.returncode == 0, report.stderr
        assert ", 100 events, 0 dead letters" in report.stdout
        assert consumer.returncode is None  # all along, the consumer kept its file
    finally:
        consumer.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(consumer.wait(), 30) == 0


def test_narrow_terminals_and_pipes_never_cut_a_value(data_dir):
    """80 columns is a terminal's and a pipe's default: values used to be cut to "nutr…"."""
    from io import StringIO

    from rich.console import Console

    from consumer.readers.terminal import table
    columns = ["course_key", "course_name", "learners", "completed_lesson", "completion_rate"]
    rows = [("nutror:course-with-a-long-key-0001", "A course with a rather long name", 12, 3,
             0.25)] * 2
    screen = StringIO()
    Console(file=screen, width=50).print(table(columns, rows))
    assert "…" not in screen.getvalue()
    assert "".join(screen.getvalue().split()).count("12") >= 2  # numbers whole
    piped = subprocess.run([*CLI, "sql", "--data-dir", str(data_dir),
                            "select * from snapshot_info"], capture_output=True, text=True,
                           timeout=60, env={**os.environ, "COLUMNS": "80"})
    assert piped.returncode == 0, piped.stderr
    header = piped.stdout.splitlines()[1]
    for name in ("as_of", "age_seconds", "events", "learning_events", "dead_letters", "offsets"):
        assert name in header, piped.stdout
    assert "…" not in piped.stdout


def test_csv_writes_lists_and_structs_as_json(data_dir):
    result = subprocess.run([*CLI, "sql", "--data-dir", str(data_dir), "--format", "csv",
                             "select [1, 2] as l, {'x': 'a,b'} as s"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'l,s\n"[1,2]","{""x"":""a,b""}"\n'
