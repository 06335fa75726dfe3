"""The dashboard without a browser: its filters, its JSON API and cache over a real
snapshot, the token rule, a missing snapshot, and the command as a process (the browser
tests are in test_dashboard_browser.py)."""

from __future__ import annotations

import asyncio
import gzip
import importlib.resources
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp.test_utils as aiotest
import msgspec
import pytest

from consumer.journeys import journeys
from consumer.readers.dashboard import common, sales
from consumer.readers.dashboard.access import CSP, is_loopback
from consumer.readers.dashboard.app import READER, create_app
from consumer.readers.dashboard.filters import BadParameter, Filters, parse
from consumer.readers.dashboard.panels import PANELS
from consumer.readers.dashboard.reader import OVERVIEW, Reader
from consumer.readers.dashboard.source import Source
from consumer.settings import DashboardSettings
from consumer.snapshot import publish
from consumer.store import ReadOnly, Store
from tests.browser import add_course, build_sales, dashboard, newest, replace
from tests.support.simulated import load

ALL = ",".join(PANELS)
SALES = ["purchase_funnel", "buyers_not_started", "refunds_by_progress",
         "time_to_first_lesson", "revenue_per_completion"]
SALES_URL = f"/api/panels?names={','.join(SALES)}"
ZONE = ZoneInfo("America/Sao_Paulo")
SELLER = "myeduzz:654321"  # the simulator's second seller (Toolzz courses, BRL and USD)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(served path, first snapshot, second snapshot with 5 more learners on one course)."""
    directory = tmp_path_factory.mktemp("snap")
    store = Store(directory / "learnstream.duckdb")
    load(store, journeys(60, 3))
    publish(store, directory / "first.duckdb")
    add_course(store, "alpaclass:later", "Later course", 5, newest(store))
    publish(store, directory / "second.duckdb")
    store.close()
    replace(directory / "first.duckdb", directory / "analytics.duckdb")
    return directory / "analytics.duckdb", directory / "first.duckdb", directory / "second.duckdb"


@pytest.fixture
async def client(snapshots) -> AsyncIterator[aiotest.TestClient]:
    replace(snapshots[1], snapshots[0])
    app = create_app(DashboardSettings(snapshot=str(snapshots[0])))
    async with aiotest.TestClient(aiotest.TestServer(app)) as c:
        yield c


async def get_json(client: aiotest.TestClient, url: str, status: int = 200) -> dict:
    resp = await client.get(url)
    assert resp.status == status, await resp.text()
    body: dict = msgspec.json.decode(await resp.read())
    return body


def test_filters_default_round_trip_and_key():
    f = parse([("course", "alpaclass:1"), ("from", "2024-01-01"), ("to", "2024-01-31"),
               ("window_days", "3"), ("min_days", "")])
    assert f == Filters(course="alpaclass:1", start=date(2024, 1, 1), end=date(2024, 1, 31),
                        window_days=3)
    assert f.query() == {"course": "alpaclass:1", "from": "2024-01-01", "to": "2024-01-31",
                         "window_days": "3"}
    assert parse(f.query().items()) == f
    assert f.key({"course", "min_days"}) == (("course", "alpaclass:1"), ("min_days", 7))
    assert parse([("tab", "x")], ignore=frozenset({"tab"})) == Filters()


@pytest.mark.parametrize(("items", "reason"), [
    ([("window_days", "x")], "bad parameter window_days: expected a whole number of days "
                             "from 1 to 365, got 'x'"),
    ([("min_days", "0")], "bad parameter min_days: expected a whole number of days from 1 to "
                          "365, got '0'"),
    ([("min_days", "366")], "bad parameter min_days:"),
    ([("from", "2024-02-30")], "bad parameter from: expected a date YYYY-MM-DD, got "
                               "'2024-02-30'"),
    ([("from", "2024-02-02"), ("to", "2024-02-01")], "bad parameter from: 2024-02-02 is after "
                                                     "to (2024-02-01)"),
    ([("from", "1990-01-01"), ("to", "2024-02-01")], "bad parameter from: more than"),
    ([("platform", "Alpa Class")], "bad parameter platform: expected a platform name"),
    ([("course", "x" * 301)], "bad parameter course: expected a course_key"),
    ([("course", "a\nb")], "bad parameter course:"),
    ([("course", "a"), ("course", "b")], "parameter course given twice"),
    ([("sql", "select 1")], "unknown parameter 'sql'; expected one of course, from,"),
])
def test_bad_parameters_are_refused_with_one_line(items, reason):
    with pytest.raises(BadParameter) as refused:
        parse(items)
    assert str(refused.value).startswith(reason)
    assert "\n" not in str(refused.value)


async def test_bad_requests_get_400_with_the_reason(client):
    for url, reason in [
        ("/api/panels?names=header&window_days=-1", "bad parameter window_days"),
        ("/api/panels?names=header,secrets", "bad parameter names: expected panel names"),
        ("/api/panels", "bad parameter names"),
        ("/api/panels?names=header&q=select", "unknown parameter 'q'"),
    ]:
        body = await get_json(client, url, 400)
        assert body["error"].startswith(reason) and "\n" not in body["error"], body
    resp = await client.get("/at-risk.csv?min_days=zero")
    assert resp.status == 400
    assert (await resp.text()).startswith("bad parameter min_days")


async def test_every_panel_answers_and_names_come_back_as_sent(client, snapshots):
    body = await get_json(client, f"/api/panels?names={ALL}")
    assert set(body["panels"]) == set(PANELS)
    for name, panel in body["panels"].items():
        assert "error" not in panel, (name, panel)
        assert panel["title"] == PANELS[name].title
    with ReadOnly(snapshots[0]) as db:
        funnel = db.query("select course_key, course_name, learners from course_funnel "
                          "order by learners desc, course_key")[1]
    rows = body["panels"]["courses"]["table"]["rows"]
    assert [(r[0], r[1], r[3]) for r in rows] == funnel


async def test_each_panel_is_computed_once_per_snapshot_and_filter_set(client, snapshots):
    reader: Reader = client.app[READER]
    # The overview's panels are computed at start, before anyone asks: this joins them.
    await get_json(client, f"/api/panels?names={','.join(OVERVIEW)}")
    assert reader.queries == len(OVERVIEW)
    names = ["header", "retention", "courses", "funnel_between", "at_risk", "completion",
             "freshness"]
    url = f"/api/panels?names={','.join(names)}"
    before = reader.queries
    await asyncio.gather(*(get_json(client, url) for _ in range(20)))
    assert reader.queries - before == 3  # 20 viewers: at_risk, completion, freshness once
    course = (await get_json(client, url))["panels"]["courses"]["table"]["rows"][0][0]
    before = reader.queries
    await get_json(client, url + "&course=" + course)
    # Only the panels that depend on the course (funnel_between, at_risk, completion): the
    # others come from the cache (courses too: the page highlights the chosen one itself).
    assert reader.queries - before == 3
    before = reader.queries
    await get_json(client, url + "&min_days=9")  # only at_risk uses min_days
    assert reader.queries - before == 1


def test_a_course_slice_of_a_view_equals_the_view_and_is_read_once(snapshots):
    """A course's slice of engagement_daily equals the view's rows of that course, and is
    made once per course."""
    with ReadOnly(snapshots[1]) as plain, ReadOnly(snapshots[1]) as db:
        source = Source(db)
        course = plain.query("select course_key from course_funnel order by learners desc "
                             "limit 1")[1][0][0]
        sliced = source.view("engagement_daily", course)
        assert source.view("engagement_daily", course) == sliced  # once per course
        rows = plain.query("select * from engagement_daily where course_key = $1 "
                           "order by all", [course])[1]
        assert rows and source(f"select * from {sliced} order by all", {})[1] == rows


async def test_a_panel_comes_as_soon_as_it_is_computed(client):
    """The warm-up at start claims every overview panel, but each is its own job on the
    owner thread and is handed out when done: the header (first) comes before the slower
    panels are computed, not after all of them. The page asks for each panel on its own."""
    reader: Reader = client.app[READER]
    body = await get_json(client, "/api/panels?names=header")
    assert body["panels"]["header"]["numbers"]
    assert reader.queries < len(OVERVIEW)
    await get_json(client, "/api/panels?names=retention")
    assert reader.queries == len(OVERVIEW)  # computed once, by the warm-up


async def test_a_new_snapshot_is_read_and_the_old_cache_dropped(client, snapshots):
    served, _, second = snapshots
    first = await get_json(client, "/api/panels?names=header,courses")
    version = (await get_json(client, "/api/version"))["version"]
    assert version == first["version"]
    replace(second, served)
    assert (await get_json(client, "/api/version"))["version"] != version
    later = await get_json(client, "/api/panels?names=header,courses")
    assert later["version"] != version
    keys = [r[0] for r in later["panels"]["courses"]["table"]["rows"]]
    assert "alpaclass:later" in keys
    assert "alpaclass:later" not in [r[0] for r in first["panels"]["courses"]["table"]["rows"]]
    events = dict(later["panels"]["header"]["numbers"])["events"]
    assert events == dict(first["panels"]["header"]["numbers"])["events"] + 10
    with ReadOnly(served) as db:
        assert db.query("select events from snapshot_info")[1] == [(events,)]


async def test_a_missing_snapshot_says_how_to_make_one(tmp_path, snapshots):
    path = tmp_path / "analytics.duckdb"
    app = create_app(DashboardSettings(snapshot=str(path), dashboard_refresh=2))
    async with aiotest.TestClient(aiotest.TestServer(app)) as client:
        page = await client.get("/")
        text = await page.text()
        assert page.status == 503
        assert "learnstream up" in text and "demo --serve" in text and str(path) in text
        assert "<meta http-equiv='refresh' content='2'>" in text and "Traceback" not in text
        body = await get_json(client, "/api/panels?names=header", 503)
        assert body["missing"] and "learnstream up" in body["error"]
        assert (await get_json(client, "/api/version"))["version"] is None
        replace(snapshots[1], path)
        assert (await client.get("/")).status == 200
        assert (await get_json(client, "/api/panels?names=header"))["panels"]["header"]


async def test_a_file_that_is_not_a_snapshot_gets_a_one_line_503(tmp_path):
    path = tmp_path / "analytics.duckdb"
    path.write_text("not a database")
    app = create_app(DashboardSettings(snapshot=str(path)))
    async with aiotest.TestClient(aiotest.TestServer(app)) as client:
        body = await get_json(client, "/api/panels?names=header", 503)
        assert body["error"].startswith(f"cannot open {path}: ") and "\n" not in body["error"]


async def test_the_token_as_bearer_or_cookie_set_once_from_the_url(snapshots):
    app = create_app(DashboardSettings(snapshot=str(snapshots[0]), dashboard_token="s3cret"))
    async with aiotest.TestClient(aiotest.TestServer(app)) as client:
        for url in ("/", "/api/version", "/static/plotly.min.js", "/at-risk.csv"):
            assert (await client.get(url)).status == 401, url
        assert (await client.get("/?token=wrong")).status == 401
        assert (await client.get("/", headers={"Authorization": "Bearer wrong"})).status == 401
        assert (await client.get("/", headers={"Authorization": "Bearer s3cret"})).status == 200
        moved = await client.get("/?course=a%3A1&token=s3cret", allow_redirects=False)
        assert moved.status == 303
        assert moved.headers["Location"] == "/?course=a:1"  # the token leaves the address
        cookie = moved.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert (await client.get("/api/version")).status == 200  # the cookie jar has it now


async def test_the_page_and_plotly_come_from_here(client):
    page = await client.get("/")
    assert page.headers["Content-Security-Policy"] == CSP
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    html = await page.text()
    assert "http://" not in html and "https://" not in html
    src = html.split('href="static/plotly.min.js?v=')[1].split('"')[0]
    js = await client.get(f"/static/plotly.min.js?v={src}", headers={"Accept-Encoding": "gzip"},
                          auto_decompress=False)
    assert js.headers["Content-Encoding"] == "gzip"
    assert "immutable" in js.headers["Cache-Control"]
    wheel = (importlib.resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    assert gzip.decompress(await js.read()) == wheel
    assert (await client.get("/static/other.js")).status == 404


def test_loopback_addresses():
    assert all(map(is_loopback, ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.org", "dashboard"]))


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.org"])
def test_a_non_loopback_bind_without_a_token_refuses_to_start(host, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LEARNSTREAM_DASHBOARD_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "consumer.readers.dashboard", "--host", host,
                             "--port", "0", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"learnstream dashboard: refusing to listen on {host} "
                                    "without a token: set LEARNSTREAM_DASHBOARD_TOKEN")


def test_the_learnstream_command_runs_it(tmp_path):
    cli = [sys.executable, "-c", "from consumer.cli import main; main()", "dashboard"]
    helped = subprocess.run([*cli, "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0
    for flag in ("--data-dir", "--snapshot", "--host", "--port", "--dashboard-token",
                 "--dashboard-refresh"):
        assert flag in helped.stdout
    refused = subprocess.run([*cli, "--host", "0.0.0.0", "--data-dir", str(tmp_path)],
                             capture_output=True, text=True, timeout=60,
                             env={k: v for k, v in os.environ.items()
                                  if k != "LEARNSTREAM_DASHBOARD_TOKEN"})
    assert refused.returncode == 2 and "LEARNSTREAM_DASHBOARD_TOKEN" in refused.stderr


def test_with_a_token_it_listens_beyond_loopback_and_asks_for_it(snapshots):
    with dashboard("--host", "0.0.0.0", "--snapshot", str(snapshots[0]),
                   env={"LEARNSTREAM_DASHBOARD_TOKEN": "t0ken"}) as url:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "api/version", timeout=10)
        assert refused.value.code == 401
        refused.value.close()  # it holds the response's socket
        request = urllib.request.Request(url + "api/version",
                                         headers={"Authorization": "Bearer t0ken"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200


@pytest.mark.slow
def test_demo_serve_keeps_the_dashboard_up_until_ctrl_c(tmp_path):
    # Snapshots every second, not every 10 s: the page must show the posted events, and
    # the default interval made this test wait up to 10 s for the next one.
    proc = subprocess.Popen([sys.executable, "-c", "from consumer.cli import main; main()",
                             "demo", "--serve", "--learners", "10", "--data-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "LEARNSTREAM_SNAPSHOT_INTERVAL": "1"})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("ready: http://127.0.0.1:")
        line = proc.stdout.readline()
        assert line.startswith("dashboard: http://127.0.0.1:"), line
        url = line.split()[1]
        assert proc.stdout.readline().startswith("posted ")
        deadline = time.monotonic() + 60
        while True:  # the consumer publishes the posted events in its next snapshot
            with urllib.request.urlopen(url + "api/panels?names=header", timeout=10) as resp:
                numbers = dict(msgspec.json.decode(resp.read())["panels"]["header"]["numbers"])
            if numbers["learning events"] > 0:
                break
            assert time.monotonic() < deadline, numbers
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        assert "course_funnel:" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_ci_installs_debian_chromium_then_runs_the_test_command():
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    update = ci.index("apt-get update")
    install = ci.index("apt-get install -y --no-install-recommends chromium chromium-driver")
    assert update < install < ci.index("python -m pytest")
    assert "playwright install" not in ci.replace("`playwright install`", "")


# --- Sales to learning ---


@pytest.fixture(scope="module")
def sales_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sales(tmp_path_factory.mktemp("sales"))


@pytest.fixture
async def sales_client(sales_snapshot) -> AsyncIterator[aiotest.TestClient]:
    app = create_app(DashboardSettings(snapshot=str(sales_snapshot)))
    async with aiotest.TestClient(aiotest.TestServer(app)) as c:
        yield c


def rows_of(path: Path, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with ReadOnly(path) as db:
        return db.query(sql, params)[1]


def funnel_groups(funnel: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[Any]]:
    """purchase_funnel's rows (school, product, course, mapped, step_number, reached,
    in_window, dropped) as one row per group: [mapped, reached per step, in_window, dropped]."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for school, product, course, mapped, n, reached, in_window, dropped in funnel:
        g = groups.setdefault((school, product, course), [mapped, [0] * 5, 0, 0])
        g[1][n - 1] = reached
        g[2] += in_window
        g[3] += dropped
    return groups


def step_sums(funnel: list[tuple[Any, ...]]) -> list[tuple[int, int, int]]:
    """(reached, in_window, dropped) per step, summed over the rows."""
    return [tuple(sum(r[i] for r in funnel if r[4] == n) for i in (5, 6, 7))  # type: ignore
            for n in range(1, 6)]


FUNNEL = ("select school_key, product_id, course_key, mapped, step_number, reached, in_window, "
          "dropped from {}")
BUYERS = ("select buyer_key, school_key, product_id, invoice_id, days_since_payment, "
          "in_withdrawal_period, paid_at from buyers_not_started")


def shown_funnel(panel: dict) -> tuple[dict, list[tuple[int, int, int]]]:
    """(the table as funnel_groups, the chart's (reached, in window, dropped) per step)."""
    table = {(r[0], r[1], r[2]): [r[4], r[5:10], r[10], r[11]] for r in panel["table"]["rows"]}
    bars = {t["name"]: t["y"] for t in panel["figure"]["data"]}
    assert [t["x"] for t in panel["figure"]["data"]] == [
        ["paid", "started", "completed_lesson", "half_course", "completed_course"]] * 3
    return table, list(zip(bars["reached"], bars["still in window"], bars["dropped"],
                           strict=True))


async def test_sales_panels_equal_the_views(sales_client, sales_snapshot):
    path = sales_snapshot
    p = (await get_json(sales_client, SALES_URL))["panels"]
    assert all("error" not in p[n] for n in SALES), p

    funnel = rows_of(path, FUNNEL.format("purchase_funnel"))
    table, chart = shown_funnel(p["purchase_funnel"])
    assert table == funnel_groups(funnel)
    assert any(course is None for _, _, course in table)  # products without a mapping too
    sums = step_sums(funnel)
    assert chart == sums and sums[0][0] > sums[4][0] > 0
    assert [v for _, v in p["purchase_funnel"]["numbers"]] == [s[0] for s in sums]
    names = dict(rows_of(path, "select course_key, course_name from course_names"))
    assert all(r[3] == names.get(r[2]) for r in p["purchase_funnel"]["table"]["rows"])

    buyers = rows_of(path, BUYERS)
    panel = p["buyers_not_started"]
    got = [(r[0], r[1], r[2], r[3], r[5], r[6]) for r in panel["table"]["rows"]]
    assert sorted(got) == sorted((b, s, pr, i, d, "yes" if w else "no")
                                 for b, s, pr, i, d, w, _ in buyers)
    within = sum(1 for b in buyers if b[5])
    assert 0 < within < len(buyers)
    assert [r[5] for r in got] == ["yes"] * within + ["no"] * (len(buyers) - within)
    assert panel["numbers"] == [["purchases not started", len(buyers)],
                                ["buyers", len({b[0] for b in buyers})],
                                ["within 7 days of payment", within]]
    assert panel["csv"] == "buyers-not-started.csv"

    refunds = rows_of(path, "select school_key, product_id, mapped, bucket_order, "
                            "progress_bucket, purchases, refunds from refunds_by_progress")
    panel = p["refunds_by_progress"]
    assert sorted(tuple(r[:6]) for r in panel["table"]["rows"]) == sorted(
        (s, pr, m, b, n, r) for s, pr, m, _, b, n, r in refunds)
    per_bucket: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for *_, order, bucket, purchases, refunded in refunds:
        per_bucket[(order, bucket)][0] += purchases
        per_bucket[(order, bucket)][1] += refunded
    bars = {t["name"]: t for t in panel["figure"]["data"]}
    buckets = sorted(per_bucket)
    assert bars["purchases"]["x"] == [b for _, b in buckets]
    assert bars["purchases"]["y"] == [per_bucket[b][0] for b in buckets]
    assert bars["refunded"]["y"] == [per_bucket[b][1] for b in buckets]
    assert sum(bars["refunded"]["y"]) > 0
    assert dict(panel["numbers"])["refund rate none"] == \
        f"{per_bucket[(0, 'none')][1] / per_bucket[(0, 'none')][0]:.1%}"

    first = rows_of(path, "select school_key, product_id, purchases, started, "
                          "round(median_days, 1), round(p90_days, 1) from time_to_first_lesson")
    assert sorted((r[0], r[1], r[3], r[4], r[5], r[6])
                  for r in p["time_to_first_lesson"]["table"]["rows"]) == sorted(first)

    revenue = rows_of(path, "select school_key, product_id, currency, strftime(month, '%Y-%m'), "
                            "net_revenue, completions, revenue_per_completion "
                            "from revenue_per_completion")
    panel = p["revenue_per_completion"]
    # DECIMAL as its exact text, never a float; one total per currency, never across them.
    shown = [(r[0], r[1], r[2], r[3], Decimal(r[7]), r[8],
              None if r[9] is None else Decimal(r[9])) for r in panel["table"]["rows"]]
    assert sorted(shown, key=str) == sorted(revenue, key=str)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in revenue:
        totals[r[2]] += r[4]
    assert sorted(totals) == ["BRL", "USD"]
    numbers = dict(panel["numbers"])
    assert {k: Decimal(v) for k, v in numbers.items() if k.startswith("net revenue ")} == {
        f"net revenue {c}": v for c, v in totals.items()}
    assert numbers["net revenue USD"] == str(totals["USD"])  # '330.34', not 330.34000000001
    assert {t["name"] for t in panel["figure"]["data"]} == {"BRL", "USD"}


def mapped_to(path: Path, where: str, params: Any = ()) -> set[tuple[str, str]]:
    """(seller, product) pairs product_courses maps to the courses `where` picks."""
    return set(rows_of(path, f"select school_key, product_id from product_courses m "
                             f"where {where}", params))


async def test_sales_filters_pick_courses_products_sellers_and_payment_days(
        sales_client, sales_snapshot):
    path = sales_snapshot
    funnel = rows_of(path, FUNNEL.format("purchase_funnel"))
    course = max((r for r in funnel if r[2] is not None and r[4] == 1), key=lambda r: r[5])[2]
    p = (await get_json(sales_client, f"{SALES_URL}&course={course}"))["panels"]
    table, chart = shown_funnel(p["purchase_funnel"])
    assert table == funnel_groups([r for r in funnel if r[2] == course])
    assert chart == step_sums([r for r in funnel if r[2] == course])
    products = mapped_to(path, "course_key = $1", [course])
    buyers = [b for b in rows_of(path, BUYERS) if (b[1], b[2]) in products]
    assert sorted(r[3] for r in p["buyers_not_started"]["table"]["rows"]) == sorted(
        b[3] for b in buyers)
    for name in ("refunds_by_progress", "time_to_first_lesson", "revenue_per_completion"):
        shown = {(r[0], r[1]) for r in p[name]["table"]["rows"]}
        assert shown and shown <= products, name

    # A seller's key in the school filter picks its purchases, unmapped products included.
    p = (await get_json(sales_client, f"{SALES_URL}&school={SELLER}"))["panels"]
    table, chart = shown_funnel(p["purchase_funnel"])
    assert table == funnel_groups([r for r in funnel if r[0] == SELLER])
    assert any(course is None for _, _, course in table)
    for name in SALES:
        assert {r[1] if name == "buyers_not_started" else r[0]
                for r in p[name]["table"]["rows"]} == {SELLER}, name

    # A platform: only products mapped to its courses.
    p = (await get_json(sales_client, f"{SALES_URL}&platform=nutror"))["panels"]
    nutror = mapped_to(path, "course_key like 'nutror:%'")
    assert {(r[0], r[1]) for r in p["refunds_by_progress"]["table"]["rows"]} == nutror
    assert all(r[2].startswith("nutror:") for r in p["purchase_funnel"]["table"]["rows"])

    # The date range: the cohort paid in it (purchase_funnel_between), its buyers.
    start = datetime(2024, 4, 1, tzinfo=ZONE)
    stop = datetime(2024, 5, 1, tzinfo=ZONE)
    p = (await get_json(sales_client, f"{SALES_URL}&from=2024-04-01&to=2024-04-30"))["panels"]
    between = rows_of(path, FUNNEL.format("purchase_funnel_between($1, $2)"), [start, stop])
    table, chart = shown_funnel(p["purchase_funnel"])
    assert table == funnel_groups(between)
    assert chart == step_sums(between)
    assert 0 < chart[0][0] < step_sums(funnel)[0][0]
    buyers = [b for b in rows_of(path, BUYERS) if start <= b[6] < stop]
    assert sorted(r[3] for r in p["buyers_not_started"]["table"]["rows"]) == sorted(
        b[3] for b in buyers) and buyers
    assert "Paid 2024-04-01 to 2024-04-30" in p["purchase_funnel"]["note"]


async def test_the_buyers_csv_holds_every_row_of_the_filters(sales_client, sales_snapshot):
    resp = await sales_client.get(f"/buyers-not-started.csv?school={SELLER}")
    assert resp.status == 200
    assert resp.headers["Content-Disposition"] == 'attachment; filename="buyers-not-started.csv"'
    lines = (await resp.text()).splitlines()
    assert lines[0] == ("buyer_key,school_key,product_id,invoice_id,paid_at,"
                        "days_since_payment,within_7_days,mapped")
    want = [b for b in rows_of(sales_snapshot, BUYERS) if b[1] == SELLER]
    got = [line.split(",") for line in lines[1:]]
    assert sorted((r[0], r[2], r[3], int(r[5]), r[6]) for r in got) == sorted(
        (b[0], b[2], b[3], b[4], "yes" if b[5] else "no") for b in want) and want
    resp = await sales_client.get("/buyers-not-started.csv?to=yesterday")
    assert resp.status == 400
    assert (await resp.text()).startswith("bad parameter to: expected a date")


async def test_the_buyers_csv_needs_the_token(sales_snapshot):
    app = create_app(DashboardSettings(snapshot=str(sales_snapshot), dashboard_token="s3cret"))
    async with aiotest.TestClient(aiotest.TestServer(app)) as client:
        assert (await client.get("/buyers-not-started.csv")).status == 401
        ok = await client.get("/buyers-not-started.csv",
                              headers={"Authorization": "Bearer s3cret"})
        assert ok.status == 200 and "@" in await ok.text()


async def test_sales_panels_are_computed_once_per_snapshot_and_filter_set(sales_client):
    reader: Reader = sales_client.app[READER]
    await get_json(sales_client, f"/api/panels?names={','.join(OVERVIEW)}")  # joins warming
    before = reader.queries
    bodies = await asyncio.gather(*(get_json(sales_client, SALES_URL) for _ in range(10)))
    assert reader.queries - before == len(SALES)
    # One computation, the same answer for all ten (but for which of them says it computed).
    same = [{n: {k: v for k, v in p.items() if k != "computed"} for n, p in b["panels"].items()}
            for b in bodies]
    assert all(s == same[0] for s in same)
    assert sum(1 for b in bodies for p in b["panels"].values() if p.get("computed")) == len(SALES)
    before = reader.queries
    await get_json(sales_client, SALES_URL + "&min_days=9")  # no sales panel uses it
    assert reader.queries == before
    await get_json(sales_client, SALES_URL + "&from=2024-04-01")  # the funnel and buyers
    assert reader.queries - before == 2
    await get_json(sales_client, SALES_URL + "&platform=toolzz")
    assert reader.queries - before == 2 + len(SALES)


async def test_sales_panels_of_a_snapshot_without_purchases_say_so(client):
    p = (await get_json(client, SALES_URL))["panels"]
    for name in ("purchase_funnel", "refunds_by_progress", "time_to_first_lesson"):
        assert p[name]["note"].startswith("No paid purchase here."), p[name]
        assert "figure" not in p[name] and "error" not in p[name]
    assert p["revenue_per_completion"]["note"].startswith("No paid purchase with an amount")
    assert p["buyers_not_started"]["numbers"][0] == ["purchases not started", 0]
    assert p["buyers_not_started"]["table"]["rows"] == []


async def test_the_buyers_table_shows_the_first_rows_and_counts_them_all(
        sales_client, sales_snapshot, monkeypatch):
    monkeypatch.setattr(sales, "TABLE_ROWS", 5)
    monkeypatch.setattr(common, "TABLE_ROWS", 5)
    panel = (await get_json(sales_client, "/api/panels?names=buyers_not_started"))["panels"][
        "buyers_not_started"]
    buyers = rows_of(sales_snapshot, BUYERS + " order by in_withdrawal_period desc, "
                     "days_since_payment, buyer_key, product_id, invoice_id")
    assert [r[3] for r in panel["table"]["rows"]] == [b[3] for b in buyers[:5]]
    assert panel["table"]["total"] == len(buyers) > 5
    assert dict(panel["numbers"]) == {"purchases not started": len(buyers),
                                      "buyers": len({b[0] for b in buyers}),
                                      "within 7 days of payment": sum(1 for b in buyers if b[5])}
