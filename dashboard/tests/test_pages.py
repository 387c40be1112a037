"""Browser test of the dashboard (`make test-dashboard`, not part of `make test`).

Serves the dashboard on the published warehouse (RETENTION_DB_PATH, default warehouse.duckdb
at the repository root), opens every page of registry.PAGES in headless Chromium (Debian's
`chromium`, driven by Playwright) as a person would (the home page, then the sidebar link),
and fails on any page error, console error, failed request, error or warning box, chart
without marks, axis showing one label at two neighbouring ticks, axis or metric label cut
short, or time axis whose first label names no year; and checks a negative amount's tooltip
on the MRR page. A full-page screenshot of each page is kept in
target/dashboard-screenshots/.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, sync_playwright

DASHBOARD = Path(__file__).resolve().parent.parent
REPO = DASHBOARD.parent
sys.path.insert(0, str(DASHBOARD))
from registry import PAGES  # noqa: E402

SCREENSHOTS = REPO / "target" / "dashboard-screenshots"
CHROMIUM_ARGS = [
    # As root in a container, with no network: no sandbox, no GPU, no background fetches.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RENDER_TIMEOUT_S = 90

# What the page shows so far: its heading, whether its script still runs, how many charts
# have drawn their SVG and how many boxes (errors, warnings) it shows.
STATE = """() => ({
    heading: document.querySelector('[data-testid="stMain"] h1')?.innerText.trim() ?? null,
    running: document.querySelector('[data-testid="stStatusWidget"]') !== null,
    charts: document.querySelectorAll('[data-testid="stVegaLiteChart"]').length,
    drawn: document.querySelectorAll('[data-testid="stVegaLiteChart"] svg').length,
    boxes: document.querySelectorAll(
        '[data-testid="stException"], [data-testid="stAlert"]').length,
})"""

# Per chart: how many data marks (bars, cells, points, lines) it drew; axes and legends are
# not role-mark groups.
CHART_MARKS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
    .map(chart => [...chart.querySelectorAll('svg g.role-mark')]
        .reduce((n, group) => n + group.childElementCount, 0))"""

# Per chart, per axis: the tick labels it shows (a label hidden for overlap is not shown).
AXIS_LABELS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
    .map(chart => [...chart.querySelectorAll('svg g.role-axis')]
        .map(axis => [...axis.querySelectorAll('g.role-axis-label text')]
            .filter(text => getComputedStyle(text).opacity !== '0')
            .map(text => text.textContent)))"""

# The metric labels Streamlit cuts short with "…" (a label wider than its column).
CUT_METRIC_LABELS = """() => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
    .filter(label => [label, ...label.querySelectorAll('*')]
        .some(element => element.scrollWidth > element.clientWidth + 1))
    .map(label => label.innerText.trim())"""

# A year in an axis label ("2022", "April 2021", "2024 Q2"), not a number ("2,000").
YEAR = re.compile(r"(?<![\d,.])(?:19|20)\d{2}(?![\d,.])")

MAIN_HEIGHT = """() => document.querySelector('[data-testid="stMain"]').scrollHeight"""

BOXES = """() => [...document.querySelectorAll(
        '[data-testid="stException"], [data-testid="stAlert"]')]
    .map(box => box.innerText.trim())"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db_path: Path):
    """Start the dashboard on `db_path`; returns (process, base URL) once it answers."""
    port = free_port()
    env = {**os.environ, "RETENTION_DB_PATH": str(db_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=DASHBOARD,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the dashboard server stopped: {process.stderr.read().decode()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    process.terminate()
    pytest.fail("the dashboard server did not answer within 120 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def browser():
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not chromium:
        pytest.fail("no chromium on PATH: `make test-dashboard` installs Debian's package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def published_warehouse() -> Path:
    """The published warehouse the dashboard reads (RETENTION_DB_PATH, default
    warehouse.duckdb at the repository root); the test fails when there is none."""
    db_path = Path(os.environ.get("RETENTION_DB_PATH", REPO / "warehouse.duckdb")).resolve()
    if not db_path.exists():
        pytest.fail(f"no warehouse at {db_path}: run `make demo` first")
    return db_path


def published_copy(tmp_path: Path, name: str) -> Path:
    """A copy of the published warehouse at tmp_path / name, for a test to change."""
    copy = tmp_path / name
    shutil.copyfile(published_warehouse(), copy)
    return copy


@pytest.fixture(scope="module")
def published():
    process, url = serve(published_warehouse())
    yield url
    stop(process)


def wait_until_rendered(page: Page, title: str) -> None:
    """Wait until the page shows `title`, its script has finished, every chart has drawn and
    nothing changed for a second (Streamlit sends a page's elements as its script runs)."""
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    last = None
    while time.monotonic() < deadline:
        state = page.evaluate(STATE)
        done = (
            state["heading"] == title
            and not state["running"]
            and state["charts"] + state["boxes"] > 0
            and state["drawn"] == state["charts"]
        )
        if done and state == last:
            return
        last = state if done else None
        page.wait_for_timeout(1000)
    raise AssertionError(f"the page {title!r} did not finish rendering: {last or state}")


def open_page(
    browser,
    base_url: str,
    page_spec,
    screenshot: Path | None = None,
    then: Callable[[Page], None] | None = None,
):
    """Open the home page, follow the sidebar link to the page (and do `then` there, as a
    person choosing a view would) and return what is wrong there (an empty list when
    nothing is)."""
    page: Page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: message.type == "error" and problems.append(f"console: {message.text}"),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400 and problems.append(f"HTTP {response.status}: {response.url}")
        ),
    )
    try:
        page.goto(base_url + "/")
        page.wait_for_selector('[data-testid="stSidebarNavLink"]', timeout=RENDER_TIMEOUT_S * 1000)
        title = re.compile(f"^{re.escape(page_spec.title)}$")
        page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
        wait_until_rendered(page, page_spec.title)
        if then:
            then(page)
            wait_until_rendered(page, page_spec.title)
        problems += [f"box on the page: {text}" for text in page.evaluate(BOXES)]
        marks = page.evaluate(CHART_MARKS)
        if not marks:
            problems.append("no chart on the page")
        problems += [f"chart {i + 1} has no marks" for i, n in enumerate(marks) if n == 0]
        # An axis that shows one label at two neighbouring ticks (a rate rounded to "1%" at
        # 0.8 % and at 1.2 %) misreads every point between them. (A time axis repeats a
        # month name, a year apart: not side by side.)
        problems += [
            f"chart {i + 1} repeats axis labels: {', '.join(labels)}"
            for i, axes in enumerate(page.evaluate(AXIS_LABELS))
            for labels in axes
            if any(a == b for a, b in zip(labels, labels[1:], strict=False))
        ]
        # Vega cuts a label longer than its axis allows with "…" (Streamlit's theme allows
        # 100 px): "competitor_better_product" read "competitor_bette…".
        problems += [
            f"chart {i + 1} cuts an axis label: {label}"
            for i, axes in enumerate(page.evaluate(AXIS_LABELS))
            for labels in axes
            for label in labels
            if label.endswith("…")
        ]
        # Vega names a year only at its first day: a month axis starting in April read
        # "April, July, October, 2022", its first months' year unnamed.
        problems += [
            f"chart {i + 1} has a time axis whose first label names no year: {labels[0]}"
            for i, axes in enumerate(page.evaluate(AXIS_LABELS))
            for labels in axes
            if any(YEAR.search(label) for label in labels) and not YEAR.search(labels[0])
        ]
        problems += [
            f"metric label cut short: {label}" for label in page.evaluate(CUT_METRIC_LABELS)
        ]
        if screenshot:
            # The main area scrolls inside the window: grow the window to the whole page.
            height = page.evaluate(MAIN_HEIGHT)
            page.set_viewport_size({"width": 1400, "height": max(900, height)})
            page.wait_for_timeout(1000)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=screenshot, full_page=True)
    finally:
        page.close()
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[page.url_path for page in PAGES])
def test_page_renders_without_errors(browser, published, page):
    shot = SCREENSHOTS / f"{page.url_path}.png"
    shot.unlink(missing_ok=True)
    assert open_page(browser, published, page, shot) == []
    assert shot.stat().st_size > 0


def test_an_empty_chart_fails_the_check(browser, tmp_path):
    """The check is not blind: with no acquisition-channel rows in mart_clv, the CLV page's
    charts are empty and the check reports them; so are the programme page's (a layered
    chart: uplift, its interval and the zero line) when no campaign has an uplift or a
    retention rate (every group empty). With empty predictive marts (a build with
    RETENTION_PREDICTIVE=off) the predictive page says so, without an error."""
    emptied = published_copy(tmp_path, "emptied.duckdb")
    with duckdb.connect(str(emptied)) as con:
        con.execute("delete from marts.mart_clv where segment_type = 'acquisition_channel'")
        con.execute(
            "update marts.mart_retention_programmes set uplift = null, uplift_ci_low = null, "
            "uplift_ci_high = null, treatment_retention_rate = null, "
            "control_retention_rate = null"
        )
        for mart in ("mart_clv_model_parameters", "mart_clv_predictions", "mart_contract_survival"):
            con.execute(f"delete from marts.{mart}")
    process, url = serve(emptied)
    try:
        clv = next(page for page in PAGES if page.url_path == "clv")
        problems = open_page(browser, url, clv)
        programmes = next(page for page in PAGES if page.url_path == "programmes")
        programme_problems = open_page(browser, url, programmes)
        predictive = next(page for page in PAGES if page.url_path == "predictive-clv")
        predictive_problems = open_page(browser, url, predictive)
    finally:
        stop(process)
    assert "box on the page: No data for CLV by channel." in problems
    assert "box on the page: No data for LTV:CAC by channel." in problems
    assert "no chart on the page" in problems
    assert "box on the page: No data for programme uplift." in programme_problems
    assert "box on the page: No data for treatment and control retention." in programme_problems
    assert "no chart on the page" in programme_problems
    assert predictive_problems == [
        "box on the page: No predictive model in this warehouse: it was built with "
        "RETENTION_PREDICTIVE=off, which leaves the predictive marts empty. Build it without "
        "that setting (as make demo does) to fit them.",
        "no chart on the page",
    ]


def test_rate_axes_label_every_tick_apart(browser, tmp_path):
    """A shop whose monthly churn stays between 0.5 % and 1.3 % on both bases: the churn
    rate axis, ticks 0.1 points apart, labelled them to whole percents ("1%" five times), so
    0.8 % and 1.2 % read the same. A rate axis's labels carry the decimals its ticks need."""
    steady = published_copy(tmp_path, "steady.duckdb")
    with duckdb.connect(str(steady)) as con:
        # churn_rate from 0.5 % to 1.3 % by month of the year (0.005 + 0.008 × (month − 1)
        # / 11); retention_rate = 1 − churn_rate, as every customer at the start either
        # churned or was retained.
        con.execute(
            "update marts.fct_periods set churn_rate = 0.005 + 0.008 * "
            "(month(period_start) - 1) / 11, retention_rate = 1 - (0.005 + 0.008 * "
            "(month(period_start) - 1) / 11) where period_grain = 'month'"
        )
    process, url = serve(steady)
    try:
        churn = next(page for page in PAGES if page.url_path == "churn")
        problems = open_page(browser, url, churn)
    finally:
        stop(process)
    assert problems == []


@pytest.mark.parametrize("segment", ["acquisition channel", "country", "segment"])
def test_the_cohort_heatmaps_of_one_segment_render(browser, published, segment):
    """The cohort page by a customer attribute (int_customer_cohort_months × dim_customers):
    the heatmaps of its largest value on both bases and every value's retention curves,
    all drawn, without errors."""
    cohorts = next(page for page in PAGES if page.url_path == "cohorts")

    def by_segment(page: Page) -> None:
        page.get_by_test_id("stRadio").get_by_text(f"by {segment}", exact=True).click()
        page.get_by_text(f"Retention curve by {segment}", exact=True).wait_for(
            timeout=RENDER_TIMEOUT_S * 1000
        )

    shot = SCREENSHOTS / f"cohorts-by-{segment.replace(' ', '-')}.png"
    assert open_page(browser, published, cohorts, shot, then=by_segment) == []


# Axis titles (the period axes are titled with their grain: "Quarter").
AXIS_TITLES = """() => [...document.querySelectorAll(
        '[data-testid="stVegaLiteChart"] svg g.role-axis-title text')]
    .map(text => text.textContent)"""
PERIOD_LABEL = {"quarter": re.compile(r"\d{4} Q[1-4]"), "year": re.compile(r"\d{4}")}


@pytest.mark.parametrize("grain", ["quarter", "year"])
@pytest.mark.parametrize("url_path", ["saves", "churn", "nps"])
def test_period_axes_name_the_periods_of_their_grain(browser, published, url_path, grain):
    """A page by quarter or by year, its period chosen as a person would: the saves page's
    bars read "Jan 2023" for the year 2023 and "Apr 2024" for 2024 Q2, and a line by year
    had ticks at March, May, July between its points. Every label of a period axis (one
    that names a year) names a period of the grain: "2024 Q2", "2024"."""
    spec = next(page for page in PAGES if page.url_path == url_path)
    seen = []

    def by_grain(page: Page) -> None:
        page.get_by_test_id("stRadio").first.get_by_text(grain, exact=True).click()
        deadline = time.monotonic() + RENDER_TIMEOUT_S
        while grain.capitalize() not in page.evaluate(AXIS_TITLES) and time.monotonic() < deadline:
            page.wait_for_timeout(500)
        wait_until_rendered(page, spec.title)
        seen.extend(page.evaluate(AXIS_LABELS))

    assert open_page(browser, published, spec, then=by_grain) == []
    periods = [labels for axes in seen for labels in axes if any(map(YEAR.search, labels))]
    assert len(periods) == 2, seen  # each page has two charts over time
    wrong = [label for labels in periods for label in labels
             if not PERIOD_LABEL[grain].fullmatch(label)]  # fmt: skip
    assert wrong == []


def test_no_warehouse_is_named_on_the_page(browser, tmp_path):
    """Without a warehouse file the page says which file is missing and what to run."""
    missing = tmp_path / "missing.duckdb"
    process, url = serve(missing)
    try:
        problems = open_page(browser, url, PAGES[0])
    finally:
        stop(process)
    assert (
        # innerText: the markdown's `code` marks are not text
        f"box on the page: No warehouse at {missing}: run make demo (or retention build) first."
        in problems
    )


# The text of the tooltip Vega shows (vega-tooltip's element), or null when none is shown.
TOOLTIP = """() => {
    const tip = document.getElementById('vg-tooltip-element');
    return tip && tip.classList.contains('visible') ? tip.innerText : null;
}"""
# A number as Vega writes one below 0: with the minus sign (U+2212) or the hyphen-minus.
NEGATIVE = re.compile(r"[\u2212-]\d")


def test_negative_money_has_the_minus_of_the_tables(browser, published):
    """The MRR page on the demo: the waterfall's churned MRR, a step down, read "−1,234.50"
    in its tooltip (U+2212, Vega's default number locale) where a table reads "-1,234.50"
    (Streamlit's printf), and the movements' axis below 0 read "−500". Vega, told the
    tables' minus (warehouse.NUMBER_LOCALE), writes "-" in the tooltip and on the axis."""
    mrr = next(page for page in PAGES if page.url_path == "mrr")
    seen = {}

    def hover_churned_mrr(page: Page) -> None:
        waterfall = page.get_by_test_id("stVegaLiteChart").first
        # The steps in order: MRR at start, new, reactivation, expansion, contraction,
        # churned MRR (the sixth), MRR at end.
        waterfall.locator("svg g.role-mark path").nth(5).hover()
        deadline = time.monotonic() + 10
        while page.evaluate(TOOLTIP) is None and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        seen["tooltip"] = page.evaluate(TOOLTIP)
        seen["axes"] = page.evaluate(AXIS_LABELS)

    assert open_page(browser, published, mrr, then=hover_churned_mrr) == []
    tooltip = seen["tooltip"]
    assert tooltip and "Churned MRR" in tooltip, tooltip
    assert re.search(r"Amount \(EUR\)\s*-\d[\d,]*\.\d\d", tooltip), tooltip
    negatives = [label for axes in seen["axes"] for labels in axes for label in labels
                 if NEGATIVE.match(label)]  # fmt: skip
    assert negatives, seen["axes"]  # the movements' axis reaches below 0
    assert [label for label in negatives if "\u2212" in label] == []
    assert "\u2212" not in tooltip
