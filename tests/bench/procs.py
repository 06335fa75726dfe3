"""Processes for the benchmarks: start, wait until ready, sample memory, stop."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent


def python(*args: str, root: Path = ROOT, **kw: object) -> subprocess.Popen[bytes]:
    """`python -m ...` from the repository root (or the tree at `root`: another version's
    code, for a baseline), output to the caller's stderr."""
    return subprocess.Popen([sys.executable, *args], cwd=root, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(root)}, **kw)  # type: ignore[call-overload]


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Until GET `url` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered 200")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of `pid` in MB (`VmHWM` = its peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def family(pid: int) -> list[int]:
    """`pid` and its live descendants (a receiver's workers, say)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds `pid` and its live descendants have used so far (all their
    threads)."""
    total = 0
    for p in family(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Peak:
    """Samples the summed RSS of some processes every 0.1 s; `.mb` is the peak seen."""

    def __init__(self, *pids: int) -> None:
        self.pids, self.mb, self.samples = pids, 0.0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                now = sum(rss_mb(p) for p in self.pids)
            except (FileNotFoundError, ProcessLookupError):  # gone, or going while read
                return
            self.samples.append(now)
            self.mb = max(self.mb, now)

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        return round(self.mb, 1)


def stop(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load(port: int, requests: int, connections: int = 64, rate: float = 0.0,
         sources: str = "eduzz", seed: int = 1) -> dict[str, object]:
    """Run the load generator process against 127.0.0.1:`port`; its JSON result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = python("-m", "tests.bench.load", "--port", str(port), "--requests", str(requests),
                  "--connections", str(connections), "--rate", str(rate), "--sources", sources,
                  "--seed", str(seed))
    out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"load generator failed with status {proc.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the generator is the one reaped
    result: dict[str, object] = json.loads(out.splitlines()[-1])
    # The whole process, building its signed requests included; `send_cpu_s` is the sending.
    result["generator_process_cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime
                                      - before.ru_stime, 2)
    return result


def alone(run: Callable[..., dict[str, object]], default: int) -> None:
    """`python -m tests.bench.X [N]`: one benchmark over N (else `default`) on a broker of
    its own; its JSON on stdout."""
    from consumer.ops.broker import EmbeddedBroker

    broker = EmbeddedBroker().start()
    try:
        print(json.dumps(run(broker, int(sys.argv[1]) if len(sys.argv) > 1 else default)))
    finally:
        broker.stop()
