"""Benchmark: the dashboard in a real browser (prints figures, never asserts).

    python -m tests.bench.dashboard [--rows 10000000] [--keep PATH] [--learners 40]

Two snapshots: the demo's (`learnstream demo`'s journey run, straight into DuckDB) and a
store of `--rows` generated learning events (the views benchmark's generator,
tests/bench/views.py; `--keep PATH` reuses a generated file). For each, the dashboard runs
as its own process and headless Chromium (Debian's, through Playwright) measures:

- first render: the overview loaded in a fresh browser on a dashboard that has computed
  nothing yet (new process), until every panel is drawn;
- filter change: a course picked in the form, until the page is drawn again (the panels that
  depend on the course are computed; the others come from the cache);
- the same view again in a new tab (every panel from the cache);
- page weight: the bytes transferred for the first render (gzip where the browser asks).

Baseline, same run: the panels' own DuckDB time, as the server reports it per panel; the
ratio says what the browser, HTTP and drawing add.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from consumer.journeys import journeys
from consumer.ops.demo import SEED
from consumer.snapshot import publish
from consumer.store import Store, apply_schema
from consumer.store.state import refold
from tests.bench.views import generate
from tests.browser import dashboard, launch, ready
from tests.support.simulated import load

LIMIT = 600  # seconds a render may take before the run gives up (a loaded machine, 10M)


def demo_snapshot(directory: Path, learners: int) -> Path:
    store = Store(directory / "learnstream.duckdb")
    load(store, journeys(learners, SEED))
    publish(store, directory / "analytics.duckdb")
    store.close()
    return directory / "analytics.duckdb"


def generated_snapshot(path: Path, rows: int) -> tuple[Path, float]:
    """A store of `rows` generated events at `path` (kept if it holds events), with a
    snapshots row so it reads as a snapshot; (path, seconds to generate)."""
    started = time.perf_counter()
    con = duckdb.connect(str(path))
    apply_schema(con)
    if not con.execute("select count(*) from learning_events").fetchone()[0]:  # type: ignore[index]
        generate(con, rows)
        con.execute("begin")
        refold(con)
        con.execute("commit")
    con.execute("insert or replace into snapshots (as_of) values (now())")
    con.execute("checkpoint")
    con.close()
    return path, time.perf_counter() - started


class Weighed:
    """Bytes transferred by a page (bodies as sent, headers included), and its API answers."""

    def __init__(self, page: Any) -> None:
        self.bytes = 0
        self.panels: dict[str, float] = {}
        self.first_done = False
        page.on("requestfinished", self._finished)

    def _finished(self, request: Any) -> None:
        sizes = request.sizes()
        self.bytes += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        if "/api/panels?" in request.url:
            response = request.response()
            body = msgspec.json.decode(response.body()) if response else {}
            for name, panel in body.get("panels", {}).items():
                # On a fresh dashboard every panel is new (computed for this request or by the
                # start-up warm-up it joined); later, only those computed for it.
                if panel.get("computed") or not self.first_done:
                    self.panels[name] = panel.get("seconds", 0.0)


def measure(snapshot: Path) -> dict[str, Any]:
    """Timings of one snapshot, in a fresh dashboard process and browser."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {"file_mb": round(snapshot.stat().st_size / 1e6, 1)}
    with dashboard("--snapshot", str(snapshot)) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        weighed = Weighed(page)
        started = time.perf_counter()
        page.goto(url)
        ready(page, LIMIT)
        out["first_render_s"] = round(time.perf_counter() - started, 3)
        out["page_weight_bytes"] = weighed.bytes
        out["first_render_duckdb_s"] = round(sum(weighed.panels.values()), 3)
        out["slowest_panels"] = sorted(weighed.panels.items(), key=lambda kv: -kv[1])[:4]
        weighed.first_done = True
        courses = page.eval_on_selector_all("select[name=course] option",
                                            "o => o.map(x => x.value).filter(Boolean)")
        changes = []
        for course in courses[:3]:
            weighed.panels = {}
            started = time.perf_counter()
            page.select_option("select[name=course]", course)
            page.wait_for_url(lambda u, c=course: "course=" in u, timeout=LIMIT * 1000)
            ready(page, LIMIT)
            changes.append((round(time.perf_counter() - started, 3),
                            round(sum(weighed.panels.values()), 3)))
        out["filter_change_s"] = [c[0] for c in changes]
        out["filter_change_duckdb_s"] = [c[1] for c in changes]
        again = browser.new_page(viewport={"width": 1280, "height": 900})
        started = time.perf_counter()
        again.goto(url)
        ready(again, LIMIT)
        out["cached_render_s"] = round(time.perf_counter() - started, 3)
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", help="generated store file to create, or reuse")
    parser.add_argument("--learners", type=int, default=40, help="the demo run's learners")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, Any] = {"cores": os.cpu_count(), "load": os.getloadavg()[0]}
        results["demo"] = measure(demo_snapshot(Path(tmp), args.learners))
        path, generated = generated_snapshot(Path(args.keep or Path(tmp) / "big.duckdb"),
                                             args.rows)
        with duckdb.connect(str(path), read_only=True) as con:
            events = con.execute("select count(*) from learning_events").fetchone()[0]  # type: ignore[index]
        results["generated"] = {"learning_events": events, "generate_s": round(generated, 1),
                                **measure(path)}
    print(f"machine: {results['cores']} cores, load {results['load']:.1f}")
    for name in ("demo", "generated"):
        r = results[name]
        ratio = r["first_render_s"] / max(r["first_render_duckdb_s"], 1e-9)
        print(f"{name}: {r.get('learning_events', '')} file {r['file_mb']} MB; first render "
              f"{r['first_render_s']} s (panels' DuckDB time {r['first_render_duckdb_s']} s, "
              f"ratio {ratio:.2f}); filter change {r['filter_change_s']} s (DuckDB "
              f"{r['filter_change_duckdb_s']} s); cached render {r['cached_render_s']} s; "
              f"page weight {r['page_weight_bytes']:,} bytes; slowest panels "
              f"{r['slowest_panels']}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
