"""Requests that change the store: how a command writes to learnstream.duckdb, which the
running consumer owns (DuckDB lets one process write a file).

- A command calls `submit(db_path, data_dir, kind, payload, timeout, direct)`. When no
  process owns the store (store/owner.py), it opens the store and applies the request itself
  through `direct(store, run)` (which calls `run()`; around it: give the store the command's
  settings, republish the snapshot). Otherwise it writes
  `<data-dir>/requests/<id>.request` (`{"kind", "payload"}` JSON, written to `.tmp` and
  renamed: never read half-written) and waits for `<id>.result`.
- The consumer (`Server.serve`, after every poll, so between batches and when idle) claims
  a request by renaming it to `<id>.claimed`, applies it in one transaction, republishes the
  snapshot, then writes `<id>.result` (`{"counts": {...}}` or `{"error": "one line"}`).
  A rename succeeds once: a command whose consumer stopped takes its request back the same
  way and applies it itself; at `timeout` an unclaimed request is withdrawn.

Adding a kind: write `apply(store, payload) -> dict[str, int]` (runs inside
`store.transaction()`; the counts are what the command prints; raise `BadRequest` with a
one-line reason for a payload it refuses) and, if it needs work after the commit (forget
rewrites the file), `after(store, counts)`. Put `KIND = Kind(name, apply, after)` in its
module, add the module to `MODULES` below, and call `submit` from the command.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from consumer.store import Store
from consumer.store.owner import InUse, held

log = logging.getLogger(__name__)
Counts = dict[str, int]
Direct = Callable[[Store, Callable[[], Counts]], Counts]  # how a command applies it itself


class BadRequest(ValueError):
    """A payload its kind refuses; the message is one line for the command to print."""


class Kind(NamedTuple):
    """A kind of request: its name, the change in one transaction, and work after commit."""

    name: str
    apply: Callable[[Store, dict[str, Any]], Counts]
    after: Callable[[Store, Counts], None] | None = None


# The modules holding the product's kinds, each as a module-level `KIND`; imported when
# first needed (they build on this module). EXTRA: kinds registered at run time (tests).
MODULES: tuple[str, ...] = ("consumer.ops.forget", "consumer.ops.products")
EXTRA: dict[str, Kind] = {}


def kinds() -> dict[str, Kind]:
    """Every kind of request, by name."""
    product: list[Kind] = [importlib.import_module(m).KIND for m in MODULES]
    return {k.name: k for k in (*product, *EXTRA.values())}


def apply(store: Store, kind_name: str, payload: dict[str, Any]) -> Counts:
    """Apply one request to `store`: its change in one transaction, then its after-work.
    Blocking (run it off the event loop, between batches). BadRequest for an unknown kind
    or a refused payload; a store error propagates with nothing of the request applied."""
    kind = kinds().get(kind_name)
    if kind is None:
        raise BadRequest(f"unknown request kind {kind_name!r}")
    with store.transaction():
        counts = kind.apply(store, payload)
    if kind.after is not None:
        kind.after(store, counts)
    return counts


def requests_dir(data_dir: str | Path) -> Path:
    """Where requests and results are exchanged."""
    return Path(data_dir) / "requests"


def write_json(path: Path, value: object) -> None:
    """Write `value` to `path` whole or not at all (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # may name a person
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(value, out)
    os.replace(tmp, path)


class Timeout(RuntimeError):
    """No result within the timeout; the message says whether the request was withdrawn."""


def submit(db_path: Path, data_dir: str | Path, kind: str, payload: dict[str, Any],
           timeout: float, direct: Direct = lambda store, run: run(),
           poll: float = 0.05) -> Counts:
    """Apply a request: directly when no process owns the store (as `direct(store, run)`),
    else through the consumer. BadRequest for a refused request, Timeout when nothing
    answered in time."""
    directory = requests_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    request = directory / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    sent = False
    deadline = time.monotonic() + timeout
    while True:
        if not held(db_path) and (not sent or _take_back(request)):
            try:
                return _apply_here(db_path, kind, payload, direct)
            except InUse:  # a consumer started in between: ask it instead
                sent = False
        if not sent:
            write_json(request.with_suffix(".request"), {"kind": kind, "payload": payload})
            sent = True
        result = request.with_suffix(".result")
        if result.exists():
            answer = json.loads(result.read_text(encoding="utf-8"))
            result.unlink()
            if "error" in answer:
                raise BadRequest(answer["error"])
            return {k: int(v) for k, v in answer["counts"].items()}
        if time.monotonic() > deadline:
            if _take_back(request):
                raise Timeout(f"no consumer took the request within {timeout:g} s; it was "
                              "withdrawn (is the consumer stuck? see its log)")
            raise Timeout(f"the consumer is still applying the request after {timeout:g} s; "
                          f"it will finish, and its result will be in {result}")
        time.sleep(poll)


def _take_back(request: Path) -> bool:
    """Withdraw an unclaimed request; False when the consumer claimed it first."""
    try:
        os.rename(request.with_suffix(".request"), request.with_suffix(".withdrawn"))
    except FileNotFoundError:
        return False
    request.with_suffix(".withdrawn").unlink()
    return True


def _apply_here(db_path: Path, kind: str, payload: dict[str, Any],
                direct: Direct) -> Counts:
    store = Store(db_path)
    try:
        return direct(store, lambda: apply(store, kind, payload))
    finally:
        store.close()


class Server:
    """The consumer's side: serves the requests waiting in the requests directory."""

    def __init__(self, store: Store, data_dir: str | Path,
                 republish: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.republish = republish  # blocking; before the result, so the command sees it
        self.directory = requests_dir(data_dir)
        self.served = 0

    async def serve(self, in_hand: asyncio.Lock) -> int:
        """Apply every waiting request, oldest first, each between batches (under the
        consumer's in-hand lock); how many were applied."""
        if not self.directory.is_dir():
            return 0
        applied = 0
        for path in sorted(self.directory.glob("*.request")):
            async with in_hand:
                applied += await asyncio.to_thread(self._serve, path)
        self.served += applied
        return applied

    def _serve(self, path: Path) -> int:
        claimed = path.with_suffix(".claimed")
        try:
            os.rename(path, claimed)
        except FileNotFoundError:  # withdrawn by its command
            return 0
        started, request = time.perf_counter(), {}
        try:
            request = json.loads(claimed.read_text(encoding="utf-8"))
            counts = apply(self.store, str(request.get("kind")), request["payload"])
            self.republish()
            answer: dict[str, object] = {"counts": counts}
        except BadRequest as exc:
            answer = {"error": str(exc)}
        except Exception as exc:  # a failed change is rolled back; ingestion goes on
            # The type only: a message may quote a value of the payload (personal data).
            log.error("request %s failed: %s", path.stem, type(exc).__name__)
            answer = {"error": f"the consumer could not apply it: {type(exc).__name__}: "
                               f"{(str(exc).splitlines() or [''])[0]}"}
        write_json(path.with_suffix(".result"), answer)
        claimed.unlink()
        log.info("request %s (%s) served in %.2f s: %s", path.stem, request.get("kind"),
                 time.perf_counter() - started, answer.get("counts", "refused"))
        return 1
