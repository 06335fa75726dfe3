"""`learnstream ingest --workers N`: N receiver processes on one port, supervised.

Each worker is a whole receiver (its own producer and event loop) listening with
SO_REUSEPORT, so the kernel spreads connections over them. The parent only supervises: on
SIGINT/SIGTERM/SIGHUP it asks every worker to stop (each stops accepting, finishes its
requests in flight and flushes its producer, as a single receiver does), waits for them in
start order and kills any that overstays. A worker that dies on its own stops the rest and
the parent exits non-zero, so a container restart policy brings the whole receiver back.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

import msgspec

from ingest import app, logs
from ingest.settings import IngestSettings

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Set before prometheus-client is imported, this makes a process record its metrics in
# per-process files of that directory (prometheus-client's multiprocess mode).
MULTIPROC_VAR = "PROMETHEUS_MULTIPROC_DIR"


class WorkerSpec(msgspec.Struct, frozen=True):
    """What a worker reads on stdin: settings travel there, so secrets are not in `ps`."""

    settings: IngestSettings
    shared_metrics: str


def _die_with_parent() -> None:
    """In a worker before exec: SIGTERM when the supervisor dies (Linux), so a killed
    supervisor leaves no worker holding the port. Elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(settings: IngestSettings) -> int:
    """Run `settings.workers` workers until a stop signal or a worker's death; exit status."""
    stop = threading.Event()
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda *_: stop.set())
    shared = tempfile.mkdtemp(prefix="learnstream-metrics-")
    spec = msgspec.json.encode(WorkerSpec(settings, shared))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(settings.workers):
            # Own session: a terminal's Ctrl-C reaches only the supervisor, which stops
            # the workers itself, once each.
            proc = subprocess.Popen(
                [sys.executable, "-c", "from ingest.workers import worker_main; worker_main()"],
                stdin=subprocess.PIPE, env={**os.environ, MULTIPROC_VAR: shared},
                start_new_session=True, preexec_fn=_die_with_parent)
            assert proc.stdin is not None
            proc.stdin.write(spec)
            proc.stdin.close()
            procs.append(proc)
        log.info("receiver: %d workers on %s:%d (pids %s)", len(procs), settings.host,
                 settings.port, " ".join(str(p.pid) for p in procs))
        while not stop.is_set() and all(p.poll() is None for p in procs):
            stop.wait(0.2)
        failed = [p for p in procs if p.poll() is not None]
        return _stop_all(procs, settings.publish_timeout + 10, failed)
    finally:
        for proc in procs:  # whatever happened above, leave no worker behind
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(shared, ignore_errors=True)


def _stop_all(procs: list[subprocess.Popen[bytes]], grace: float,
              failed: list[subprocess.Popen[bytes]]) -> int:
    for proc in failed:
        log.error("receiver worker %d exited with status %s; stopping the others", proc.pid,
                  proc.returncode)
    # All at once: each drains on its own, so stopping them one by one would only add up.
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    status = 1 if failed else 0
    for proc in procs:
        try:
            code = proc.wait(grace)
        except subprocess.TimeoutExpired:
            log.error("receiver worker %d did not stop within %.0fs; killing it", proc.pid,
                      grace)
            proc.kill()
            code = proc.wait()
        status = status or (code != 0)
        log.info("receiver worker %d stopped (status %s)", proc.pid, code)
    return int(status)


def worker_main() -> None:
    """A worker: read its spec from stdin, then serve as `learnstream ingest` does, sharing
    the port."""
    spec = msgspec.json.decode(sys.stdin.buffer.read(), type=WorkerSpec)
    logs.setup(spec.settings.log_level, spec.settings.log_format)
    app.serve(spec.settings, reuse_port=True, shared_metrics=spec.shared_metrics)
