"""`learnstream check` against the real broker: one line per check, exit 1 when any fails."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

from consumer.ops.broker import free_port
from consumer.ops.check import run_checks
from consumer.settings import CheckSettings
from consumer.worker import ensure_topic

CLI = [sys.executable, "-c", "from consumer.cli import main; main()"]


def settings(broker, topic, tmp_path, **changes) -> CheckSettings:
    values = {"bootstrap": broker.bootstrap, "topic": topic, "data_dir": str(tmp_path / "data"),
              "eduzz_secrets": "s1, s2", "toolzz_token": "t", "check_timeout": 5.0}
    return CheckSettings(**{**values, **changes})


def lines(results) -> list[str]:
    return [("ok: " if r.ok else "FAILED: ") + r.line for r in results]


async def test_all_ok(broker, topic, tmp_path):
    await ensure_topic(broker.bootstrap, topic, 3)
    got = lines(await run_checks(settings(broker, topic, tmp_path)))
    assert got[0].startswith(f"ok: broker {broker.bootstrap} reachable (")
    assert got[1:] == [
        f"ok: topic {topic} present (3 partitions)",
        f"ok: data dir {tmp_path / 'data'} writable (will be created under {tmp_path})",
        "ok: secrets configured (2 Eduzz secret(s), Toolzz token)"]
    (tmp_path / "data").mkdir()
    assert lines(await run_checks(settings(broker, topic, tmp_path)))[2] == (
        f"ok: data dir {tmp_path / 'data'} writable")


async def test_broker_down(tmp_path):
    down = f"127.0.0.1:{free_port()}"
    got = lines(await run_checks(CheckSettings(bootstrap=down, topic="t",
                                               data_dir=str(tmp_path), eduzz_secrets="s",
                                               toolzz_token="t", check_timeout=5.0)))
    assert got[0].startswith(f"FAILED: broker {down} unreachable within 5s (")
    assert got[1] == "FAILED: topic t not checked: the broker is unreachable"
    assert got[2:] == [f"ok: data dir {tmp_path} writable",
                       "ok: secrets configured (1 Eduzz secret(s), Toolzz token)"]


async def test_a_broker_that_never_answers_is_bounded_by_the_timeout(tmp_path):
    with socket.socket() as mute:  # accepts connections (the backlog), never answers
        mute.bind(("127.0.0.1", 0))
        mute.listen()
        address = f"127.0.0.1:{mute.getsockname()[1]}"
        got = lines(await run_checks(CheckSettings(bootstrap=address, data_dir=str(tmp_path),
                                                   check_timeout=0.5)))
    assert got[0] == f"FAILED: broker {address} unreachable within 0.5s (no answer)"


async def test_topic_missing(broker, topic, tmp_path):
    got = lines(await run_checks(settings(broker, topic, tmp_path)))
    assert got[1] == (f"FAILED: topic {topic} missing (create it, or let the consumer create "
                      "it with --partitions)")
    assert got[0].startswith("ok: ") and got[2].startswith("ok: ") and got[3].startswith("ok: ")


async def test_data_dir_not_writable(broker, topic, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    data = tmp_path / "file" / "data"
    got = lines(await run_checks(settings(broker, topic, tmp_path, data_dir=str(data))))
    assert got[2] == (f"FAILED: data dir {data} is not writable: {tmp_path / 'file'} is not a "
                      "directory")


async def test_no_secrets(broker, topic, tmp_path):
    got = lines(await run_checks(settings(broker, topic, tmp_path, eduzz_secrets=" , ",
                                          toolzz_token="")))
    assert got[3] == ("FAILED: secrets not configured: set LEARNSTREAM_EDUZZ_SECRETS and "
                      "LEARNSTREAM_TOOLZZ_TOKEN")


def test_command_prints_one_line_per_check_and_exits_1_on_any_failure(broker, tmp_path):
    env = {**os.environ, "LEARNSTREAM_EDUZZ_SECRETS": "s", "LEARNSTREAM_TOOLZZ_TOKEN": ""}
    result = subprocess.run([*CLI, "check", "--bootstrap", broker.bootstrap, "--topic",
                             "never-created", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "ok", "FAILED", "ok", "FAILED"]
    assert result.stdout.splitlines()[3] == (
        "FAILED: secrets not configured: set LEARNSTREAM_TOOLZZ_TOKEN")
    topic = f"t-{os.getpid()}-{tmp_path.name}"
    asyncio.run(ensure_topic(broker.bootstrap, topic, 2))
    ok = subprocess.run([*CLI, "check", "--bootstrap", broker.bootstrap, "--topic", topic,
                         "--data-dir", str(tmp_path), "--toolzz-token", "t"],
                        capture_output=True, text=True, timeout=60, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("\n") == 4 and ok.stdout.count("ok: ") == 4
    assert f"ok: topic {topic} present (2 partitions)\n" in ok.stdout
