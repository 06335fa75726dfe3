"""The worker and the cyclic garbage collector: paused while a batch is decoded and written
(consumer/worker.py `_decode_and_write`) and always left as it was found; what start-up made
frozen while the worker runs."""

from __future__ import annotations

import gc
from types import SimpleNamespace
from typing import Any

import pytest

from consumer.worker import Worker
from tests.conftest import RunningConsumer


def _worker(work: Any) -> Any:
    return SimpleNamespace(_decode_and_write_now=work)


def test_a_batch_pauses_the_collector_and_gives_it_back_even_when_the_store_fails():
    during = []

    def failing(records: Any) -> Any:
        during.append(gc.isenabled())
        raise RuntimeError("store failed")

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        Worker._decode_and_write(_worker(failing), {})
    assert during == [False]
    assert gc.isenabled()
    assert Worker._decode_and_write(_worker(lambda records: "stored"), {}) == "stored"
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused():
    gc.disable()
    try:
        Worker._decode_and_write(_worker(lambda records: None), {})
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_start_up_objects_are_frozen_while_consuming_and_given_back_after(
        consumer_settings):
    # Frozen: out of the collector's passes while batches allocate; unfrozen at the stop, so
    # a process that runs a consumer and goes on (these tests) collects them again.
    assert gc.get_freeze_count() == 0
    running = RunningConsumer(consumer_settings)
    await running.start()
    try:
        assert gc.get_freeze_count() > 0
    finally:
        await running.stop()
    assert gc.get_freeze_count() == 0
