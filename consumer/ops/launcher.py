"""`learnstream up`: broker (embedded unless --bootstrap), consumer and receiver as child
processes, started in dependency order and stopped in reverse on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp

from consumer.ops.broker import EmbeddedBroker, die_with_parent
from consumer.settings import SNAPSHOT_FILE, LauncherSettings

log = logging.getLogger(__name__)

# The embedded broker forgets everything when it stops, so the consumer must catch up first.
EMBEDDED_DRAIN_SECONDS = 30.0
STOP_GRACE_SECONDS = 20.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class ChildFailed(RuntimeError):
    """A part of the stack exited on its own."""


def refuse_unsigned(settings: LauncherSettings) -> str | None:
    """Why `up` must not start (secure by default, as the receiver), or None when it may."""
    missing = [name for name, var in (("eduzz", settings.eduzz_secrets),
                                      ("toolzz", settings.toolzz_token)) if not var]
    if not missing or settings.allow_unsigned:
        return None
    variables = {"eduzz": "LEARNSTREAM_EDUZZ_SECRETS", "toolzz": "LEARNSTREAM_TOOLZZ_TOKEN"}
    return (f"no proof of origin configured for {' and '.join(missing)}: set "
            f"{' and '.join(variables[m] for m in missing)}, or pass --allow-unsigned "
            "(development only)")


class Stack:
    """The running parts; `run()` returns once stopped, raising ChildFailed if a part died."""

    def __init__(self, settings: LauncherSettings) -> None:
        self.settings = settings
        self.broker: EmbeddedBroker | None = None
        self.bootstrap = settings.bootstrap
        self.url = f"http://127.0.0.1:{settings.http_port}"
        self._stop = asyncio.Event()
        self._children: list[tuple[str, asyncio.subprocess.Process]] = []

    def stop(self) -> None:
        """Request a graceful stop (safe to call from a signal handler)."""
        self._stop.set()

    async def run(self, on_ready: Callable[[Stack], None]) -> None:
        """Start everything, call `on_ready`, and supervise until a stop or a failure."""
        s = self.settings
        try:
            if not self.bootstrap:
                self.broker = EmbeddedBroker(s.broker_port).start()
                self.bootstrap = self.broker.bootstrap
            drain = EMBEDDED_DRAIN_SECONDS if self.broker else 0.0
            consumer = await self._spawn("consumer", "consumer", "--data-dir", s.data_dir,
                                         "--group", s.group, "--drain-timeout", str(drain),
                                         "--metrics-port", str(s.metrics_port))
            if not await self._unless_stopped(self._consumer_ready(consumer)):
                return
            await self._spawn("receiver", "ingest", "--port", str(s.http_port),
                              "--host", "127.0.0.1",
                              *(["--allow-unsigned"] if s.allow_unsigned else []),
                              # secrets travel in the environment: argv is visible in `ps`
                              env={"LEARNSTREAM_EDUZZ_SECRETS": s.eduzz_secrets,
                                   "LEARNSTREAM_TOOLZZ_TOKEN": s.toolzz_token})
            if not await self._unless_stopped(self._receiver_ready()):
                return
            on_ready(self)
            await self._supervise()
        finally:
            await self._shutdown()

    async def _unless_stopped(self, step: Coroutine[Any, Any, None]) -> bool:
        """Run one start-up step unless a stop arrives first; True when the step finished."""
        task = asyncio.ensure_future(step)
        stop = asyncio.ensure_future(self._stop.wait())
        done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        for pending in (task, stop):
            pending.cancel()
        if task in done:
            task.result()
            return True
        log.info("stop requested during start-up")
        return False

    async def _spawn(self, name: str, module: str, *args: str,
                     env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
        s = self.settings
        # Own session: a terminal's Ctrl-C reaches only this launcher, which stops the parts
        # in order (receiver first, so nothing is acknowledged that the consumer will miss).
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, "--bootstrap", self.bootstrap, "--topic", s.topic,
            "--log-level", s.log_level, "--log-format", s.log_format, *args,
            stdout=asyncio.subprocess.PIPE if name == "consumer" else None,
            env={**os.environ, **(env or {})},
            start_new_session=True, preexec_fn=die_with_parent)
        self._children.append((name, proc))
        return proc

    async def _consumer_ready(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        if not line.startswith(b"consumer ready"):
            raise ChildFailed(f"consumer did not start (exit status {await proc.wait()})")

    async def _receiver_ready(self, timeout: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as http:
            while asyncio.get_running_loop().time() < deadline:
                self._check_children()
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(self.url + "/readyz") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise ChildFailed(f"receiver not ready at {self.url} within {timeout:.0f}s")

    def _check_children(self) -> None:
        for name, proc in self._children:
            if proc.returncode is not None:
                raise ChildFailed(f"{name} exited with status {proc.returncode}")

    async def _supervise(self) -> None:
        waits = [asyncio.create_task(proc.wait()) for _, proc in self._children]
        stop = asyncio.create_task(self._stop.wait())
        await asyncio.wait([stop, *waits], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not self._stop.is_set():
            self._check_children()

    async def _shutdown(self) -> None:
        # Reverse order: the receiver stops accepting and flushes, then the consumer stores
        # what the broker holds, then the broker goes.
        for name, proc in reversed(self._children):
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                grace = STOP_GRACE_SECONDS + (EMBEDDED_DRAIN_SECONDS if name == "consumer" else 0)
                try:
                    await asyncio.wait_for(proc.wait(), grace)
                except TimeoutError:
                    log.error("%s did not stop within %.0fs; killing it", name, grace)
                    proc.kill()
                    await proc.wait()
            log.info("%s stopped (status %s)", name, proc.returncode)
        if self.broker is not None:
            self.broker.stop()
            log.info("embedded broker stopped")


def db_path(settings: LauncherSettings) -> Path:
    """The consumer's DuckDB file under the launcher's data dir."""
    return Path(settings.data_dir) / "learnstream.duckdb"


def snapshot_path(settings: LauncherSettings) -> Path:
    """The read-only copy the consumer publishes for readers while it runs."""
    return Path(settings.data_dir) / SNAPSHOT_FILE


async def run_until_signal(stack: Stack, on_ready: Callable[[Stack], None]) -> None:
    """Run `stack`, stopping it gracefully on SIGINT, SIGTERM or SIGHUP (terminal closed)."""
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stack.stop)
    try:
        await stack.run(on_ready)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
