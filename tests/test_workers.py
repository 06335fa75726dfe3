"""`learnstream ingest --workers 2`: two receiver processes on one port, supervised."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from consumer.ops.broker import free_port
from consumer.worker import ensure_topic
from tests.conftest import SECRET, TOKEN, fixture, logged_process, post, wait_ready

pytestmark = pytest.mark.slow
REQUESTS = 40


def children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def listeners(port: int) -> int:
    """Sockets listening on `port` (Linux /proc/net/tcp): one per worker with SO_REUSEPORT."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1].endswith(f":{port:04X}")
               and row.split()[3] == "0A")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its parent just has not reaped it yet.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def start(broker, topic: str, port: int, log: Path):
    return logged_process(
        [sys.executable, "-m", "ingest", "--workers", "2", "--port", str(port), "--host",
         "127.0.0.1", "--bootstrap", broker.bootstrap, "--topic", topic, "--log-format",
         "json"], log,
        env={"LEARNSTREAM_EDUZZ_SECRETS": SECRET, "LEARNSTREAM_TOOLZZ_TOKEN": TOKEN})


async def test_two_workers_share_the_port_count_together_and_stop_cleanly(broker, topic,
                                                                           tmp_path):
    await ensure_topic(broker.bootstrap, topic, 3)
    port, log = free_port(), tmp_path / "ingest.log"
    url = f"http://127.0.0.1:{port}"
    with start(broker, topic, port, log) as proc:
        await wait_ready(url, timeout=30)
        workers = children(proc.pid)
        assert len(workers) == 2, workers
        deadline = time.monotonic() + 30
        while listeners(port) < 2:  # the second worker may still be starting
            assert time.monotonic() < deadline, "the second worker never listened"
            await asyncio.sleep(0.05)
        # A fresh connection per request, so the kernel spreads them over both listeners.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            statuses = await asyncio.gather(*(
                post(http, url, "eduzz", fixture("nutror/module_completed"))
                for _ in range(REQUESTS)))
            assert [s for s, _ in statuses] == [200] * REQUESTS
            totals, accepted = set(), set()
            for _ in range(20):  # whichever worker answers, /metrics sums over both
                async with http.get(url + "/metrics") as resp:
                    text = await resp.text()
                totals.update(s.value for f in text_string_to_metric_families(text)
                              for s in f.samples if s.name == "learnstream_webhook_requests_total")
                async with http.get(url + "/stats") as resp:  # /stats: the answering worker's
                    accepted.add((await resp.json())["accepted"].get("eduzz", 0))
        assert totals == {REQUESTS}
        # Both workers served: a worker that answered served some, never all (the kernel
        # may split them evenly, so the two counts can be equal).
        assert accepted and all(0 < n < REQUESTS for n in accepted), accepted
        assert len(accepted) == 1 or sum(accepted) == REQUESTS, accepted
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    assert not [pid for pid in workers if alive(pid)]
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # every line is JSON
    messages = [line["message"] for line in lines if line["logger"] == "ingest.workers"]
    assert messages[0].startswith(f"receiver: 2 workers on 127.0.0.1:{port}")
    assert sorted(m.split(" (")[0] for m in messages[1:]) == sorted(
        f"receiver worker {pid} stopped" for pid in workers)
    assert [line["message"] for line in lines].count("producer flushed") == 2
    with pytest.raises(OSError):  # nothing is left listening
        await asyncio.open_connection("127.0.0.1", port)


async def test_a_dead_worker_stops_the_other_and_the_supervisor_fails(broker, topic, tmp_path):
    port, log = free_port(), tmp_path / "ingest.log"
    with start(broker, topic, port, log) as proc:
        await wait_ready(f"http://127.0.0.1:{port}", timeout=30)
        first, second = children(proc.pid)
        os.kill(first, signal.SIGKILL)
        assert proc.wait(timeout=60) == 1
    assert not alive(second)
    assert f"receiver worker {first} exited with status -9" in log.read_text()


def test_workers_default_to_one_and_are_bounded():
    from ingest.settings import load

    assert load([], {}).workers == 1
    result = subprocess.run([sys.executable, "-m", "ingest", "--workers", "65"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "(--workers / LEARNSTREAM_WORKERS): expected `int` <= 64, got '65'" in result.stderr
