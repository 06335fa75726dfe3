"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against
`learnstream dashboard` running as its own process over a journey-simulator snapshot.

Every test also checks, through the page fixture, that nothing was logged to the console as
an error, no script failed, no dialog opened (an injected `onerror=alert(1)` would open one)
and no request went anywhere but the dashboard on 127.0.0.1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest

from consumer.store import ReadOnly
from tests.browser import (
    HOSTILE,
    HOSTILE_COURSE,
    build,
    build_sales,
    dashboard,
    launch,
    need_chromium,
    ready,
    replace,
)

pytestmark = pytest.mark.slow
ZONE = ZoneInfo("America/Sao_Paulo")
TABS = {"overview": ["courses", "funnel_between", "ordered_funnel", "engagement", "stickiness",
                     "retention"],
        "course": ["lessons", "completion", "time_to_complete"],
        "at-risk": ["at_risk"],
        "quality": ["freshness", "duplicates", "dead_letters", "unknown_events", "late_events"],
        "sales": ["purchase_funnel", "buyers_not_started", "refunds_by_progress",
                  "time_to_first_lesson", "revenue_per_completion"]}
# Panels that always draw a chart on this snapshot (dead letters: it has none; the sales
# panels: it has no purchases, see the sales snapshot's tests).
CHARTS = {"courses", "funnel_between", "ordered_funnel", "engagement", "stickiness",
          "retention", "lessons", "completion", "duplicates", "late_events"}


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(served path, first snapshot, second snapshot): the dashboard reads the served path,
    which starts as a copy of the first."""
    need_chromium()
    directory = tmp_path_factory.mktemp("dashboard")
    first, second = build(directory)
    served = directory / "analytics.duckdb"
    replace(first, served)
    return served, first, second


@pytest.fixture(scope="module")
def url(snapshots: tuple[Path, Path, Path]) -> Iterator[str]:
    with dashboard("--snapshot", str(snapshots[0]), "--dashboard-refresh", "0.3") as base:
        yield base


@pytest.fixture(scope="module")
def sales(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(snapshot, URL): a dashboard over a journey run with purchases and its mapping."""
    need_chromium()
    path = build_sales(tmp_path_factory.mktemp("sales"))
    with dashboard("--snapshot", str(path)) as base:
        yield path, base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


class Watched:
    """A page and what it did: console errors, script errors, dialogs, requested URLs."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: self.requests.append(r.url))


@pytest.fixture
def watched(browser: Any, url: str) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    w = Watched(context.new_page())
    yield w
    context.close()
    assert w.errors == [], w.errors
    assert w.dialogs == [], w.dialogs
    assert w.requests, "the page made no request"
    outside = [r for r in w.requests if urlsplit(r).hostname != "127.0.0.1"]
    assert outside == [], outside


def visit(w: Watched, url: str, **params: str) -> Any:
    w.page.goto(url + ("?" + urlencode(params) if params else ""))
    ready(w.page)
    return w.page


def query(path: Path, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with ReadOnly(path) as db:
        return db.query(sql, params)[1]


def table(page: Any, panel: str) -> list[dict[str, str]]:
    """The rows of a panel's table as the page shows them (text)."""
    return page.eval_on_selector(f"#panel-{panel} .table table", """t => {
        const head = [...t.tHead.rows[0].cells].map(c => c.textContent);
        return [...t.tBodies[0].rows].map(r => Object.fromEntries(
            [...r.cells].map((c, i) => [head[i], c.textContent])));
    }""")


def numbers(page: Any, panel: str) -> dict[str, str]:
    return page.eval_on_selector(f"#panel-{panel} .numbers", """d => Object.fromEntries(
        [...d.querySelectorAll('div')].map(x => [x.querySelector('dt').textContent,
                                                  x.querySelector('dd').textContent]))""")


def traces(page: Any, panel: str) -> list[dict[str, Any]]:
    """The data plotly drew in a panel's chart."""
    return page.eval_on_selector(f"#figure-{panel}", """el => el.data.map(t => (
        {name: t.name, x: t.x, y: t.y, z: t.z, customdata: t.customdata}))""")


def default_range(path: Path) -> tuple[datetime, datetime, datetime]:
    """The page's default days: the 90 calendar days (Sao Paulo) up to the newest event;
    (start, stop, newest)."""
    newest = query(path, "select max(occurred_at) from learning_events")[0][0]
    last = newest.astimezone(ZONE).date()
    start = datetime.combine(last - timedelta(days=89), time(), ZONE)
    return start, datetime.combine(last + timedelta(days=1), time(), ZONE), newest


def course_of(path: Path, rank: int = 0) -> str:
    key: str = query(path, "select course_key from course_funnel where course_key <> $1 "
                           "order by course_key limit 1 offset $2", [HOSTILE_COURSE, rank])[0][0]
    return key


def test_every_panel_of_every_tab_renders(watched, url, snapshots):
    course = course_of(snapshots[0])
    for tab, names in TABS.items():
        page = visit(watched, url, tab=tab, course=course)
        assert page.text_content("#status") == ""
        assert page.locator("#panel-header dd").count() >= 5
        for name in names:
            panel = page.locator(f"#panel-{name}")
            assert panel.count() == 1, (tab, name)
            assert panel.locator(".title").text_content(), name
            assert panel.locator(".error").text_content() == "", name
            if name in CHARTS:
                assert panel.locator(".figure.js-plotly-plot .main-svg").count() >= 1, name
        shown = page.eval_on_selector_all("#panels > section", "s => s.map(x => x.id)")
        assert shown == [f"panel-{n}" for n in names], (tab, shown)


def test_numbers_on_the_page_equal_the_views(watched, url, snapshots):
    path = snapshots[0]
    start, stop, newest = default_range(path)
    page = visit(watched, url)

    info = query(path, "select events, learning_events, dead_letters from snapshot_info")[0]
    head = numbers(page, "header")
    assert (int(head["events"]), int(head["learning events"]), int(head["dead letters"])) \
        == info

    funnel = {r[0]: r[1:] for r in query(path, "select course_key, learners, completed_course "
                                               "from course_funnel")}
    shown = {r["course_key"]: (int(r["learners"]), int(r["completed_course"]))
             for r in table(page, "courses")}
    assert shown == funnel and len(shown) >= 9

    between = query(path, """select sum(learners), sum(enrolled), sum(started),
                                    sum(completed_lesson), sum(completed_module),
                                    sum(completed_course)
                             from course_funnel_between($1, $2)""", [start, stop])[0]
    assert tuple(int(v) for v in numbers(page, "funnel_between").values()) == between
    assert traces(page, "funnel_between")[0]["x"] == list(between)

    ordered = query(path, """select sum(reached), sum(in_window), sum(dropped)
                             from ordered_funnel(14, $1) group by step_number
                             order by step_number""", [newest])
    bars = {t["name"]: t["y"] for t in traces(page, "ordered_funnel")}
    assert list(zip(bars["reached"], bars["still in window"], bars["dropped"],
                    strict=True)) == ordered

    daily = query(path, """select strftime(day, '%Y-%m-%d'), dau, mau
                           from engagement_daily_all
                           where day between $1 and $2 order by day""",
                  [start.date(), (stop - timedelta(days=1)).date()])
    lines = {t["name"]: t for t in traces(page, "engagement")}
    assert lines["DAU"]["x"] == [d for d, _, _ in daily] and len(daily) > 30
    assert lines["DAU"]["y"] == [dau for _, dau, _ in daily]
    assert lines["MAU"]["y"] == [mau for _, _, mau in daily]

    cohorts = query(path, "select cohort_week, week_number, round(retention, 4) "
                          "from cohort_retention_weekly")
    heat = traces(page, "retention")[0]
    drawn = {(week, n): z for week, row in zip(heat["y"], heat["z"], strict=True)
             for n, z in zip(heat["x"], row, strict=True) if z is not None}
    assert drawn == {(str(c), n): r for c, n, r in cohorts}

    at_risk = query(path, "select count(*) from at_risk($1, 7)", [newest])[0][0]
    page = visit(watched, url, tab="at-risk")
    assert int(numbers(page, "at_risk")["learners at risk"]) == at_risk > 0


def test_a_course_page_shows_that_course(watched, url, snapshots):
    path = snapshots[0]
    course = course_of(path)
    page = visit(watched, url, tab="course", course=course)
    lessons = query(path, """select lesson_key, learners_seen, learners_completed
                             from lesson_funnel where course_key = $1""", [course])
    assert sorted((r["lesson_key"], int(r["learners_seen"]), int(r["learners_completed"]))
                  for r in table(page, "lessons")) == sorted(lessons) and len(lessons) > 3
    buckets = query(path, "select bucket, learners from completion_buckets "
                          "where course_key = $1 order by bucket", [course])
    assert [(int(r["bucket"]), int(r["learners"])) for r in table(page, "completion")] \
        == buckets


def test_clicking_a_course_filters_the_page_and_the_url(watched, url, snapshots):
    path = snapshots[0]
    start, stop, _ = default_range(path)
    page = visit(watched, url, **{"from": str(start.date())})
    # A bar of the completion chart: a real mouse click where plotly drew it.
    bar = page.locator("#figure-courses .point path").nth(2)
    chosen = traces(page, "courses")[0]["customdata"][2]
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(lambda u: parse_qs(urlsplit(u).query).get("course") == [chosen])
    ready(page)
    assert parse_qs(urlsplit(page.url).query)["from"] == [str(start.date())]  # kept
    assert page.input_value("select[name=course]") == chosen
    between = query(path, """select learners, started, completed_course
                             from course_funnel_between($1, $2) where course_key = $3""",
                    [start, stop, chosen])[0]
    got = numbers(page, "funnel_between")
    assert (int(got["learners"]), int(got["started"]), int(got["completed_course"])) == between
    assert page.locator("#panel-courses tr.selected").count() == 1

    # A course link in the table does the same; the browser's back button undoes it.
    other = course_of(path, 1) if chosen != course_of(path, 1) else course_of(path, 2)
    page.locator(f"#panel-courses a[href*='{other.split(':')[1]}']").first.click()
    page.wait_for_url(lambda u: parse_qs(urlsplit(u).query).get("course") == [other])
    ready(page)
    assert page.locator("#panel-courses tr.selected a").text_content() == other
    page.go_back()
    page.wait_for_url(lambda u: parse_qs(urlsplit(u).query).get("course") == [chosen])
    ready(page)
    assert page.input_value("select[name=course]") == chosen


def test_a_newer_snapshot_updates_the_page_and_keeps_the_filters(watched, url, snapshots):
    served, first, second = snapshots
    course = course_of(first)
    page = visit(watched, url, course=course, window_days="10")
    before = page.get_attribute("body", "data-version")
    row = next(r for r in table(page, "courses") if r["course_key"] == course)
    middle = before
    try:
        replace(second, served)
        page.wait_for_selector(f"body:not([data-version='{before}'])[data-state=ready]",
                               state="attached", timeout=30_000)
        assert parse_qs(urlsplit(page.url).query) == {"course": [course], "window_days": ["10"]}
        after = next(r for r in table(page, "courses") if r["course_key"] == course)
        assert int(after["learners"]) == int(row["learners"]) + 7
        assert int(after["learners"]) == query(served, "select learners from course_funnel "
                                                       "where course_key = $1", [course])[0][0]
        middle = page.get_attribute("body", "data-version")
    finally:
        replace(first, served)  # a copy: a new inode again, so a new version
    page.wait_for_selector(f"body:not([data-version='{middle}'])[data-state=ready]",
                           state="attached", timeout=30_000)
    back = next(r for r in table(page, "courses") if r["course_key"] == course)
    assert back == row


def test_the_hostile_course_name_is_text_everywhere(watched, url):
    page = visit(watched, url, course=HOSTILE_COURSE)
    assert page.evaluate("document.querySelectorAll('img, script:not([src])').length") == 0
    row = next(r for r in table(page, "courses") if r["course_key"] == HOSTILE_COURSE)
    assert row["course_name"] == HOSTILE
    ticks = page.eval_on_selector_all("#figure-courses .ytick text", "t => t.map(x => "
                                      "x.textContent)")
    assert HOSTILE in ticks
    options = page.eval_on_selector_all("select[name=course] option, select[name=school] "
                                        "option", "o => o.map(x => x.textContent)")
    assert f"{HOSTILE} ({HOSTILE_COURSE})" in options
    assert f"{HOSTILE} (alpaclass:hostile-school)" in options
    # The hover label of its bar, which may have no length (nobody completed the course):
    # hover the plot area on its row, just right of the axis.
    tick = page.locator("#figure-courses .ytick text", has_text="onerror").bounding_box()
    area = page.locator("#figure-courses .nsewdrag").bounding_box()
    page.mouse.move(area["x"] + 4, tick["y"] + tick["height"] / 2, steps=3)
    page.wait_for_selector("#figure-courses .hoverlayer .hovertext", state="attached")
    assert HOSTILE in page.text_content("#figure-courses .hoverlayer")

    page = visit(watched, url, course=HOSTILE_COURSE, tab="course")
    assert [r["lesson_name"] for r in table(page, "lessons")] == [HOSTILE]
    assert HOSTILE in page.eval_on_selector_all("#figure-lessons .xtick text",
                                                "t => t.map(x => x.textContent)")
    page = visit(watched, url, course=HOSTILE_COURSE, tab="at-risk")
    assert {r["course_name"] for r in table(page, "at_risk")} == {HOSTILE}
    assert page.evaluate("document.querySelectorAll('img').length") == 0


def test_the_at_risk_csv_holds_every_row(watched, url, snapshots):
    path = snapshots[0]
    _, _, newest = default_range(path)
    page = visit(watched, url, tab="at-risk", min_days="3")
    with page.expect_download() as download:
        page.click("#panel-at_risk .download a")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    want = query(path, "select learner_key, course_key, days_inactive from at_risk($1, 3)",
                 [newest])
    assert rows[0][:2] == ["learner_key", "course_key"]
    assert sorted((r[0], r[1], int(r[4])) for r in rows[1:]) == sorted(want)
    assert len(want) > len(table(page, "at_risk")) or len(want) <= 200


def test_every_request_stays_on_the_dashboard(watched, url):
    for tab in TABS:
        visit(watched, url, tab=tab)
    assert any(r.endswith("plotly.min.js") or "plotly.min.js?v=" in r
               for r in watched.requests)
    assert any("/api/panels?" in r for r in watched.requests)


SALES_CHARTS = ["purchase_funnel", "refunds_by_progress", "time_to_first_lesson",
                "revenue_per_completion"]


def funnel_bars(page: Any) -> list[tuple[int, int, int]]:
    bars = {t["name"]: t["y"] for t in traces(page, "purchase_funnel")}
    return list(zip(bars["reached"], bars["still in window"], bars["dropped"], strict=True))


def funnel_of(path: Path, where: str = "true") -> list[tuple[Any, ...]]:
    return query(path, f"""select sum(reached), sum(in_window), sum(dropped)
                           from purchase_funnel where {where}
                           group by step_number order by step_number""")


def test_the_sales_tab_draws_the_sales_views(watched, sales):
    path, base = sales
    page = visit(watched, base)
    page.click("#tabs a[data-tab=sales]")
    page.wait_for_url(lambda u: parse_qs(urlsplit(u).query).get("tab") == ["sales"])
    ready(page)
    shown = page.eval_on_selector_all("#panels > section", "s => s.map(x => x.id)")
    assert shown == [f"panel-{n}" for n in TABS["sales"]]
    for name in TABS["sales"]:
        assert page.locator(f"#panel-{name} .error").text_content() == "", name
    for name in SALES_CHARTS:
        assert page.locator(f"#figure-{name}.js-plotly-plot .main-svg").count() >= 1, name
        assert page.locator(f"#figure-{name} .point path").count() >= 2, name  # bars drawn

    assert funnel_bars(page) == funnel_of(path)
    rows = table(page, "purchase_funnel")
    assert any(r["course_key"] == "" and r["mapped"] == "false" for r in rows)
    buyers = query(path, "select buyer_key, invoice_id, in_withdrawal_period "
                         "from buyers_not_started")
    shown_buyers = table(page, "buyers_not_started")
    assert sorted((r["buyer_key"], r["invoice_id"], r["within_7_days"]) for r in shown_buyers) \
        == sorted((b, i, "yes" if w else "no") for b, i, w in buyers)
    assert shown_buyers[0]["within_7_days"] == "yes"  # those who can still withdraw first
    got = numbers(page, "buyers_not_started")
    assert int(got["purchases not started"]) == len(buyers)
    assert int(got["within 7 days of payment"]) == sum(1 for b in buyers if b[2]) > 0
    refunds = query(path, "select bucket_order, progress_bucket, sum(purchases), sum(refunds) "
                          "from refunds_by_progress group by all order by 1")
    bars = {t["name"]: t for t in traces(page, "refunds_by_progress")}
    assert bars["refunded"]["x"] == [r[1] for r in refunds]
    assert bars["purchases"]["y"] == [r[2] for r in refunds]
    assert bars["refunded"]["y"] == [r[3] for r in refunds]
    net = dict(query(path, "select currency, sum(net_revenue) from revenue_per_completion "
                           "group by all"))
    revenue = numbers(page, "revenue_per_completion")
    assert {c: revenue[f"net revenue {c}"] for c in net} == {c: str(v) for c, v in net.items()}
    assert {t["name"] for t in traces(page, "revenue_per_completion")} == {"BRL", "USD"}

    with page.expect_download() as download:
        page.click("#panel-buyers_not_started .download a")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("buyer_key,school_key,product_id,invoice_id,paid_at")
    assert sorted(line.split(",")[3] for line in lines[1:]) == sorted(i for _, i, _ in buyers)


def test_a_filter_change_updates_the_sales_tab(watched, sales):
    path, base = sales
    page = visit(watched, base, tab="sales")
    before = funnel_bars(page)
    page.select_option("select[name=platform]", "toolzz")
    page.wait_for_url(lambda u: parse_qs(urlsplit(u).query).get("platform") == ["toolzz"])
    ready(page)
    assert parse_qs(urlsplit(page.url).query)["tab"] == ["sales"]  # the tab is kept
    after = funnel_bars(page)
    assert after == funnel_of(path, "course_key like 'toolzz:%'") and after != before
    assert {r["course_key"].split(":")[0] for r in table(page, "purchase_funnel")} == {"toolzz"}
    products = query(path, "select distinct product_id from product_courses "
                           "where course_key like 'toolzz:%'")
    assert {r["product_id"] for r in table(page, "time_to_first_lesson")} == {
        p for (p,) in products}
    # A payment cohort: the date range reads purchase_funnel_between.
    page.goto(base + "?" + urlencode({"tab": "sales", "from": "2024-04-01", "to": "2024-04-30"}))
    ready(page)
    cohort = query(path, """select sum(reached), sum(in_window), sum(dropped)
                            from purchase_funnel_between($1, $2)
                            group by step_number order by step_number""",
                   [datetime(2024, 4, 1, tzinfo=ZONE), datetime(2024, 5, 1, tzinfo=ZONE)])
    assert funnel_bars(page) == cohort and cohort[0][0] < before[0][0]
    assert page.input_value("input[name=from]") == "2024-04-01"
