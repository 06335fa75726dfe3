"""What the dashboard's browser tests, its benchmark and its screenshots share: a journey-
simulator snapshot (with a course whose name is markup), the dashboard as its own process,
and Debian's headless Chromium driven by Playwright (never `playwright install`).

    PYTHONPATH=. python -m tests.browser docs/   # regenerate the README's screenshots
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from consumer.journeys import journeys, product_mapping
from consumer.ops import products
from consumer.rows import Batch, Decoded, LearningRow, RawRow
from consumer.snapshot import publish
from consumer.store import Store
from tests.support.simulated import load

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_COURSE = "alpaclass:hostile"
LEARNERS, SEED = 300, 7  # a journey run with every panel non-empty
# A run with MyEduzz purchases (two currencies, refunds, unmapped products, buyers who never
# start, some inside the 7-day withdrawal period) and its product mapping.
SALES_LEARNERS, SALES_SEED = 120, 9


def need_chromium() -> None:
    """Skip without Debian's Chromium, but not in CI, where .ci/run installs it."""
    if CHROMIUM.is_file():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but no {CHROMIUM}: .ci/run installs it with apt "
                    "(chromium chromium-driver)")
    pytest.skip(f"no {CHROMIUM}: the browser tests need Debian's chromium "
                "(apt-get install --no-install-recommends chromium chromium-driver)")


def launch(playwright: Any) -> Any:
    """Headless Chromium from Debian."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)


_offset = 10**7  # offsets of the hand-made events: after any the simulator uses


def add_course(store: Store, key: str, name: str, learners: int, at: datetime,
               school: str | None = None) -> None:
    """`learners` new learners on course `key` named `name` (also its lesson, module and
    `school`'s names), enrolling at `at` and completing a lesson an hour later."""
    global _offset
    batch = Batch()
    for i in range(learners):
        for minutes, act in ((0, "enrolled"), (60, "lesson_completed")):
            _offset += 1
            uid = f"eduzz:hand{_offset}"
            raw = RawRow(uid, "eduzz", "alpaclass.x", at, None, '{"id": 1}', 0, _offset)
            lesson = act.startswith("lesson")
            row = LearningRow(uid, "alpaclass", "alpaclass.x", act,
                              at + timedelta(minutes=minutes), at,
                              school_key=school, school_name=name if school else None,
                              learner_key=f"learner{i}.{key}@example.com",
                              course_key=key, course_name=name,
                              module_key=f"{key}:m1" if lesson else None,
                              module_name=name if lesson else None,
                              lesson_key=f"{key}:l1" if lesson else None,
                              lesson_name=name if lesson else None,
                              kafka_partition=0, kafka_offset=_offset)
            batch.add(0, _offset, Decoded(raw, [row], [], None))
    store.write(batch, "hand")


def newest(store: Store) -> datetime:
    value: datetime = store.query("select max(occurred_at) from learning_events")[1][0][0]
    return value


def build(directory: Path, learners: int = LEARNERS) -> tuple[Path, Path]:
    """Two snapshots of one store: `first.duckdb` (a journey run plus the hostile course,
    inactive for 20 days), then `second.duckdb` with 7 more learners on the first
    simulated course. The store is closed after."""
    store = Store(directory / "learnstream.duckdb")
    load(store, journeys(learners, SEED))
    add_course(store, HOSTILE_COURSE, HOSTILE, 3, newest(store) - timedelta(days=20),
               "alpaclass:hostile-school")
    first = directory / "first.duckdb"
    publish(store, first)
    course, name = store.query("select course_key, course_name from course_funnel "
                               "where course_key <> $1 order by course_key limit 1",
                               [HOSTILE_COURSE])[1][0]
    add_course(store, course, name, 7, newest(store))
    second = directory / "second.duckdb"
    publish(store, second)
    store.close()
    return first, second


def build_sales(directory: Path, learners: int = SALES_LEARNERS) -> Path:
    """`sales.duckdb`: a journey run with sales and the product mapping a user would load
    (`learnstream products load`), for the "Sales to learning" tab."""
    store = Store(directory / "sales-store.duckdb")
    products.add(store, [(p, c, s) for s, p, c in product_mapping(SALES_SEED)])
    load(store, journeys(learners, SALES_SEED, sales=True))
    path = directory / "sales.duckdb"
    publish(store, path)
    store.close()
    return path


def replace(source: Path, dest: Path) -> None:
    """Put a copy of `source` at `dest` as the consumer does: a new file renamed over it."""
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, dest)


@contextmanager
def dashboard(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`python -m consumer.readers.dashboard ARGS --port 0` as its own process; yields its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "consumer.readers.dashboard", "--port", "0",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("dashboard ready: "):
            proc.kill()
            raise RuntimeError(f"dashboard did not start: {line!r} "
                               f"{proc.communicate(timeout=10)[1]!r}")
        yield line.split()[2]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def ready(page: Any, timeout: float = 30) -> None:
    """Wait until the page has drawn every panel of its tab (no eval: the page's CSP
    forbids it, and Playwright's wait_for_function needs it)."""
    page.wait_for_selector("body[data-state=ready]", state="attached", timeout=timeout * 1000)


def screenshots(out: Path) -> None:
    """docs/dashboard.png (the overview) and docs/dashboard-course.png (a course's lessons)
    of a journey-simulator snapshot, at a size that keeps the files small."""
    import tempfile

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "learnstream.duckdb")
        load(store, journeys(LEARNERS, SEED))
        # A course with completions, whose platform sends lesson names (Toolzz does not).
        course = store.query("select course_key from course_funnel where platform <> 'toolzz' "
                             "order by completed_course desc, course_key limit 1")[1][0][0]
        publish(store, Path(tmp) / "analytics.duckdb")
        store.close()
        with dashboard("--data-dir", tmp) as url, sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(url)
            ready(page)
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / "dashboard.png"), clip={
                "x": 0, "y": 0, "width": 1200, "height": 1500}, full_page=True)
            page.goto(url + "?" + __import__("urllib.parse").parse.urlencode(
                {"course": course, "tab": "course"}))
            ready(page)
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / "dashboard-course.png"), full_page=True)
            browser.close()


def sales_screenshot(out: Path) -> None:
    """docs/dashboard-sales.png: the "Sales to learning" tab of a run with purchases."""
    import tempfile

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        path = build_sales(Path(tmp))
        with dashboard("--snapshot", str(path)) as url, sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(url + "?tab=sales")
            ready(page)
            page.wait_for_timeout(300)
            # The funnel, buyers, refunds and time to first activity (revenue is below).
            page.screenshot(path=str(out / "dashboard-sales.png"), clip={
                "x": 0, "y": 0, "width": 1200, "height": 2250}, full_page=True)
            browser.close()


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    target.mkdir(exist_ok=True)
    screenshots(target)
    sales_screenshot(target)
    for name in ("dashboard.png", "dashboard-course.png", "dashboard-sales.png"):
        print(f"{target / name}: {(target / name).stat().st_size:,} bytes")
