"""Benchmark: the dashboard in a real browser (prints figures, never asserts).

    python -m tests.bench.dashboard [--rows 10000000] [--keep PATH] [--learners 40]
                                    [--baseline-tree DIR [--baseline-keep PATH]]

Two snapshots: the demo's (`learnstream demo`'s journey run, straight into DuckDB) and a
store of `--rows` generated learning events (the views benchmark's generator,
tests/bench/views.py; `--keep PATH` reuses a generated file, read-only if it is not
writable). For each, the dashboard runs as its own process and headless Chromium (Debian's,
through Playwright) measures, in seconds from the page's request (the page's own
performance marks where it has them, else wall time):

- cold: the dashboard process just started (the snapshot already there) and asked at once
  by a running browser with an empty cache: first paint (the header and the course list
  drawn) and all drawn (every panel of the overview, its chart included);
- filter change: a course picked in the form, until every panel is drawn again (the panels
  that depend on the course are computed; the others come from the cache);
- warm: every panel in the dashboard's cache; a new viewer (empty browser cache: plotly.js
  downloaded and compiled) and a returning one (a new tab of the first browser: plotly.js
  from its cache);
- page weight: the bytes transferred for the cold render (gzip where the browser asks).

Baselines, same run: the panels' own DuckDB time as the server reports it (the floor of a
cold render that computes them), and with `--baseline-tree DIR` (a checkout of an older
commit, e.g. `git archive main | tar -x -C DIR`) the same measures of that tree's dashboard
on the same snapshots (`--baseline-keep PATH`: a copy of the generated store with that
tree's views), one after the other. CPU seconds are the dashboard's and the browser's
(children's user+sys) over each measure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    snapshots row so it reads as a snapshot; (path, seconds to generate). A file that is not
    writable (a shared 10M store) is read as it is."""
    started = time.perf_counter()
    if path.exists() and not os.access(path, os.W_OK):
        return path, 0.0
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


PAINTED = "body[data-painted], body[data-state=ready]"  # an older page has no data-painted


def render(page: Any, url: str) -> tuple[float, float]:
    """(seconds to first paint, seconds until every panel is drawn) of `url` in `page`: the
    page's own performance marks, from the start of its navigation (Playwright would see a
    mark made just before plotly.js runs only once it has run); wall seconds for a page
    without them (an older tree's, which draws everything at once)."""
    started = time.perf_counter()
    page.goto(url, wait_until="commit")  # not "load": that waits for plotly.js to run
    page.wait_for_selector(PAINTED, state="attached", timeout=LIMIT * 1000)
    painted = time.perf_counter() - started
    ready(page, LIMIT)
    drawn = time.perf_counter() - started
    marks = page.evaluate("() => Object.fromEntries(['painted', 'drawn'].map(n => "
                          "[n, (performance.getEntriesByName(n)[0] || {}).startTime]))")
    if marks.get("drawn") is not None:
        painted, drawn = marks["painted"] / 1000, marks["drawn"] / 1000
    else:
        painted = drawn
    return round(painted, 3), round(drawn, 3)


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def changes(page: Any, weighed: Weighed) -> list[tuple[float, float]]:
    """(seconds until drawn again, the panels' DuckDB seconds) of three course picks."""
    courses = page.eval_on_selector_all("select[name=course] option",
                                        "o => o.map(x => x.value).filter(Boolean)")
    out = []
    for course in courses[:3]:
        weighed.panels = {}
        started = time.perf_counter()
        page.select_option("select[name=course]", course)
        page.wait_for_url(lambda u, c=course: "course=" in u, timeout=LIMIT * 1000)
        ready(page, LIMIT)
        out.append((round(time.perf_counter() - started, 3),
                    round(sum(weighed.panels.values()), 3)))
    return out


def measure(snapshot: Path, tree: str | None = None) -> dict[str, Any]:
    """Timings of one snapshot, in a fresh dashboard process (of `tree` if given) and
    browser."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {"file_mb": round(snapshot.stat().st_size / 1e6, 1),
                           "load": round(os.getloadavg()[0], 1)}
    # PYTHONSAFEPATH: `python -m` would put the current directory (this tree) first.
    env = {"PYTHONPATH": tree, "PYTHONSAFEPATH": "1"} if tree else None
    cpu = cpu_children()
    with sync_playwright() as p:
        # The browser is up before the dashboard starts: the page is asked for the moment
        # the dashboard is listening, with nothing computed yet.
        browser = launch(p)
        viewport = {"width": 1280, "height": 900}
        first = browser.new_context(viewport=viewport)
        page = first.new_page()
        weighed = Weighed(page)
        with dashboard("--snapshot", str(snapshot), env=env) as url:
            out |= cold(page, url, weighed)
            out |= warm(browser, first, page, url, weighed)
        browser.close()
    out["cpu_s"] = round(cpu_children() - cpu, 1)
    return out


def cold(page: Any, url: str, weighed: Weighed) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["cold_paint_s"], out["cold_drawn_s"] = render(page, url)
    out["page_weight_bytes"] = weighed.bytes
    out["cold_duckdb_s"] = round(sum(weighed.panels.values()), 3)
    out["slowest_panels"] = sorted(weighed.panels.items(), key=lambda kv: -kv[1])[:4]
    weighed.first_done = True
    return out


def warm(browser: Any, first: Any, page: Any, url: str, weighed: Weighed) -> dict[str, Any]:
    out: dict[str, Any] = {}
    picked = changes(page, weighed)
    out["filter_change_s"] = [c[0] for c in picked]
    out["filter_change_duckdb_s"] = [c[1] for c in picked]
    fresh = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    out["warm_new_paint_s"], out["warm_new_drawn_s"] = render(fresh, url)
    again = first.new_page()
    out["warm_return_paint_s"], out["warm_return_drawn_s"] = render(again, url)
    return out


def line(name: str, r: dict[str, Any]) -> str:
    ratio = r["cold_drawn_s"] / max(r["cold_duckdb_s"], 1e-9)
    return (f"{name}: {r.get('learning_events', '')} file {r['file_mb']} MB, load {r['load']}: "
            f"cold first paint {r['cold_paint_s']} s, all drawn {r['cold_drawn_s']} s "
            f"(panels' DuckDB time {r['cold_duckdb_s']} s, ratio {ratio:.2f}); filter change "
            f"{r['filter_change_s']} s (DuckDB {r['filter_change_duckdb_s']} s); warm, new "
            f"viewer {r['warm_new_paint_s']} / {r['warm_new_drawn_s']} s, returning "
            f"{r['warm_return_paint_s']} / {r['warm_return_drawn_s']} s (paint / drawn); "
            f"page weight {r['page_weight_bytes']:,} bytes; CPU {r['cpu_s']} s; slowest "
            f"panels {r['slowest_panels']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", help="generated store file to create, or reuse")
    parser.add_argument("--learners", type=int, default=40, help="the demo run's learners")
    parser.add_argument("--baseline-tree", help="a checkout whose dashboard to measure too")
    parser.add_argument("--baseline-keep", help="the generated store for the baseline tree "
                        "(its views as that tree made them); default: --keep")
    args = parser.parse_args()
    trees = [("this", None)] + ([("baseline", args.baseline_tree)] if args.baseline_tree else [])
    results: dict[str, Any] = {"cores": os.cpu_count(), "load": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        demo = demo_snapshot(Path(tmp), args.learners)
        for label, tree in trees:
            results[f"demo {label}"] = measure(demo, tree)
        path, generated = generated_snapshot(Path(args.keep or Path(tmp) / "big.duckdb"),
                                             args.rows)
        with duckdb.connect(str(path), read_only=True) as con:
            events = con.execute("select count(*) from learning_events").fetchone()[0]  # type: ignore[index]
        for label, tree in trees:
            store = Path(args.baseline_keep) if tree and args.baseline_keep else path
            results[f"generated {label}"] = {"learning_events": events,
                                             "generate_s": round(generated, 1),
                                             **measure(store, tree)}
    print(f"machine: {results['cores']} cores, load {results['load']:.1f} at start")
    for name, r in results.items():
        if isinstance(r, dict):
            print(line(name, r))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
