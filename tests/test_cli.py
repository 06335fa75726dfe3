"""The `learnstream` command as a user runs it: real processes, bounded in time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from consumer.journeys import identity, journeys, product_mapping
from consumer.ops import demo
from consumer.ops.broker import free_port
from tests.conftest import SECRET, TOKEN, fixture, signed
from tests.support.oracle.facts import facts

CLI = [sys.executable, "-c", "from consumer.cli import main; main()"]
SECRETS = {"LEARNSTREAM_EDUZZ_SECRETS": SECRET, "LEARNSTREAM_TOOLZZ_TOKEN": TOKEN}


def run(*args: str, timeout: float = 30, env: dict[str, str] | None = None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@contextlib.contextmanager
def started(argv: list[str], ready: str,
            env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """Run `argv`, wait for its first stdout line to start with `ready`; kill it if left."""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, **(env or {})}) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith(ready), (line, proc.stderr.read() if proc.poll() else "")
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 90) -> None:
    """Signal `proc` and require a clean exit."""
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err


def test_demo_posts_a_simulated_run_and_prints_what_landed(tmp_path):
    result = run("demo", "--data-dir", str(tmp_path), "--learners", "25", timeout=180)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("ready: http://127.0.0.1:")
    sent = journeys(25, demo.SEED, sales=True)
    events = len({identity(d) for d in sent})
    assert f"posted {len(sent)} webhooks of 25 simulated learners and their purchases " \
           f"({len(sent) - events} of them redeliveries): {len(sent)} x 200" in out
    assert f"raw_events       {events}" in out and "dead_letters     0" in out
    assert "unknown_events (kept, not errors):" in out
    assert "course_funnel:" in out and "Violão popular" in out
    assert "purchase_funnel (MyEduzz purchases" in out
    db = duckdb.connect(str(tmp_path / "learnstream.duckdb"), read_only=True)
    assert db.execute("select count(*) from raw_events").fetchone() == (events,)
    learning, unknown = db.execute(
        "select (select count(*) from learning_events), "
        "(select coalesce(sum(events), 0) from unknown_events)").fetchone()
    # The products were mapped through the running consumer, before the first purchase.
    assert db.execute("select count(*) from product_courses").fetchone() == (
        len(product_mapping(demo.SEED)),)
    db.close()
    stored = facts(sent)
    assert (learning, unknown) == (len(stored.rows), sum(not s.known for s in stored.raw))
    # The repair commands work on the stopped store, without Kafka.
    rebuilt = run("rebuild", "--data-dir", str(tmp_path))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.startswith(
        f"raw_events={events} learning={learning} commerce={len(stored.sold)} ")
    replayed = run("replay-dead-letters", "--data-dir", str(tmp_path))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith("examined=0 replayed=0 still_failing=0")
    missing = run("rebuild", "--data-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "nowhere" in missing.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_up_serves_until_a_signal_then_stops_every_part_cleanly(tmp_path, sig):
    port = free_port()
    body = fixture("nutror/module_completed")
    path, headers = signed("eduzz", body)
    dashboard = free_port()
    with started([*CLI, "up", "--data-dir", str(tmp_path), "--http-port", str(port),
                  "--broker-port", str(free_port()), "--dashboard-port", str(dashboard)],
                 f"ready: http://127.0.0.1:{port}\n", env=SECRETS) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("snapshot for readers: ")
        assert proc.stdout.readline() == f"dashboard: http://127.0.0.1:{dashboard}/\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{dashboard}/api/version",
                                    timeout=10) as resp:
            assert resp.status == 200
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                         headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
        stop(proc, sig)
    # The acknowledged event is in DuckDB: the consumer caught up before the broker stopped.
    db = duckdb.connect(str(tmp_path / "learnstream.duckdb"), read_only=True)
    assert db.execute("select event_uid, action from learning_events").fetchall() == [
        ("eduzz:lnzj8tmh47nblaxdbr8y0vdh", "module_completed")]
    db.close()
    for listening in (f"{port}/healthz", f"{dashboard}/api/version"):
        with pytest.raises(OSError):  # nothing is left listening
            urllib.request.urlopen(f"http://127.0.0.1:{listening}", timeout=2)


def test_killed_launcher_leaves_no_process_behind(tmp_path):
    http_port, broker_port = free_port(), free_port()
    with started([*CLI, "up", "--data-dir", str(tmp_path), "--http-port", str(http_port),
                  "--broker-port", str(broker_port), "--allow-unsigned"], "ready: ") as proc:
        proc.kill()  # SIGKILL: no handler runs, only the kernel's parent-death signal
        proc.wait(timeout=10)
    deadline = time.monotonic() + 20
    listening = {http_port, broker_port}
    while listening and time.monotonic() < deadline:
        for port in list(listening):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            except OSError:
                listening.discard(port)
        time.sleep(0.1)
    assert not listening, f"still listening after the launcher died: {listening}"


@pytest.mark.parametrize(("args", "env", "message"), [
    (["consume", "--partitions", "0"], {}, "--partitions / LEARNSTREAM_PARTITIONS"),
    (["consume"], {"LEARNSTREAM_TOOLZZ_ZONE": "Mars/Olympus"},
     "--toolzz-zone / LEARNSTREAM_TOOLZZ_ZONE"),
    (["ingest", "--port", "http"], {}, "--port / LEARNSTREAM_PORT"),
    (["ingest"], {"LEARNSTREAM_PUBLISH_TIMEOUT": "-1"},
     "--publish-timeout / LEARNSTREAM_PUBLISH_TIMEOUT"),
    (["up", "--http-port", "70000"], {}, "--http-port / LEARNSTREAM_HTTP_PORT"),
    (["ingest", "--bootstrap", "127.0.0.1:abc"], {}, "--bootstrap / LEARNSTREAM_BOOTSTRAP"),
    (["consume"], {"LEARNSTREAM_BOOTSTRAP": "kafka"}, "--bootstrap / LEARNSTREAM_BOOTSTRAP"),
    (["consume"], {"LEARNSTREAM_MEMORY_LIMIT": "lots"},
     "--memory-limit / LEARNSTREAM_MEMORY_LIMIT"),
])
def test_bad_setting_stops_start_up_naming_the_variable(args, env, message):
    result = run(*args, env=env)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize("command", ["ingest", "up"])
def test_refuses_to_start_without_secrets(command):
    result = run(command, "--bootstrap", "127.0.0.1:1", env={
        "LEARNSTREAM_EDUZZ_SECRETS": "", "LEARNSTREAM_TOOLZZ_TOKEN": "t"})
    assert result.returncode == 1
    assert ("no proof of origin configured for eduzz: set LEARNSTREAM_EDUZZ_SECRETS, or pass "
            "--allow-unsigned") in result.stderr


def test_allow_unsigned_starts_with_a_warning():
    port = free_port()
    env = {**os.environ, "LEARNSTREAM_EDUZZ_SECRETS": "", "LEARNSTREAM_TOOLZZ_TOKEN": ""}
    with subprocess.Popen([*CLI, "ingest", "--port", str(port), "--bootstrap", "127.0.0.1:1",
                           "--allow-unsigned"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=env) as proc:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "accepting UNSIGNED eduzz webhooks (--allow-unsigned)" in err
    assert "accepting UNSIGNED toolzz webhooks" in err


def test_unknown_command_and_help():
    assert "learnstream COMMAND" in run("--help").stdout
    result = run("nonsense")
    assert result.returncode == 1 and "unknown command 'nonsense'" in result.stderr


def test_consumer_serves_metrics_and_exits_cleanly_on_sigterm(broker, tmp_path):
    port = free_port()
    with started([sys.executable, "-m", "consumer", "--bootstrap", broker.bootstrap,
                  "--topic", f"t-{time.time_ns()}", "--data-dir", str(tmp_path),
                  "--metrics-port", str(port)], "consumer ready: ") as proc:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        assert "learnstream_events_consumed_total" in text  # described before any event
        # A snapshot is published before "ready": its age is a fresh, finite number.
        age = float(text.split("\nlearnstream_snapshot_age_seconds ")[1].split()[0])
        assert 0 <= age < 30
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
            assert resp.status == 200
        stop(proc, timeout=30)
    assert (Path(tmp_path) / "learnstream.duckdb").exists()
    with pytest.raises(OSError):  # the metrics server stopped with it
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_broker_command_serves_kafka_until_interrupted():
    from aiokafka.admin import AIOKafkaAdminClient

    async def list_topics(bootstrap: str) -> list[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            return await admin.list_topics()
        finally:
            await admin.close()

    port = free_port()
    with started([*CLI, "broker", "--port", str(port)],
                 f"broker ready: 127.0.0.1:{port} (memory") as proc:
        assert asyncio.run(list_topics(f"127.0.0.1:{port}")) == []
        stop(proc, signal.SIGINT, timeout=30)


def test_a_data_dir_or_metrics_port_that_cannot_be_used_stops_start_up_naming_it(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run("consume", "--bootstrap", "127.0.0.1:1", "--data-dir", str(not_a_dir))
    assert result.returncode == 1
    assert result.stderr.startswith("learnstream consume: cannot open ") and (
        "(--data-dir / LEARNSTREAM_DATA_DIR)" in result.stderr), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("consume", "--bootstrap", "127.0.0.1:1", "--data-dir", str(tmp_path / "d"),
                     "--metrics-port", str(port))
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]  # after the lifecycle log line "consumer stopped"
    assert last.startswith(f"learnstream consume: cannot serve metrics on port {port} "
                           "(--metrics-port / LEARNSTREAM_METRICS_PORT)"), result.stderr
