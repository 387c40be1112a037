"""Every dashboard page on warehouses the demo never makes (`make test-dashboard`): a shop
that sells without subscriptions (no contracts, so no contract basis), one that sells only
subscriptions (no orders, so no order basis) and a file that holds no built warehouse. A
page says what it lacks in a warning or an error box; it never stops with a traceback. And a
shop built with other activity rules than the defaults (order_inactivity_days,
contract_grace_days), which the dashboard states as the build recorded them.

The pages run headless in Streamlit's own test harness (streamlit.testing AppTest), not in
the browser: what is checked is each page's script on such data, which the browser test on
the demo warehouse (test_pages.py) cannot reach.
"""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

DASHBOARD = Path(__file__).resolve().parent.parent
REPO = DASHBOARD.parent
sys.path.insert(0, str(DASHBOARD))
from registry import PAGES  # noqa: E402

RETENTION = str(Path(sys.executable).with_name("retention"))


def run_page(script: str, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("RETENTION_DB_PATH", str(db_path))
    return AppTest.from_file(str(DASHBOARD / "views" / script), default_timeout=120).run()


def built_from(folder: Path, tables: tuple[str, ...], build_vars: str | None = None) -> Path:
    """A published warehouse in `folder` built from the raw `tables` alone (20 generated
    customers; the other tables never delivered), with the dbt vars `build_vars` (YAML) when
    given."""
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    done = subprocess.run(
        [RETENTION, "generate", "--out", "all", "--customers", "20"], cwd=folder, env=env
    )
    assert done.returncode == 0
    (folder / "data").mkdir()
    for table in tables:
        (folder / "data" / f"{table}.csv").write_bytes(
            (folder / "all" / f"{table}.csv").read_bytes()
        )
    done = subprocess.run(
        [RETENTION, "--quiet", "build", "--data", "data", "--db", "shop.duckdb", "--no-validate"]
        + (["--vars", build_vars] if build_vars else []),
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / "shop.duckdb"


def bases(db_path: Path) -> list[tuple[str]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute("select distinct basis from marts.fct_periods").fetchall()


@pytest.fixture(scope="module")
def orders_only(tmp_path_factory) -> Path:
    """Customers and orders alone: contracts and cancellations never delivered."""
    db_path = built_from(tmp_path_factory.mktemp("orders-only"), ("customers", "orders"))
    assert bases(db_path) == [("order",)]  # the case under test: no contract basis at all
    return db_path


@pytest.fixture(scope="module")
def contracts_only(tmp_path_factory) -> Path:
    """A subscription business without one-off orders: customers, contracts and
    cancellations."""
    tables = ("customers", "contracts", "cancellations")
    db_path = built_from(tmp_path_factory.mktemp("contracts-only"), tables)
    assert bases(db_path) == [("contract",)]  # the case under test: no order basis at all
    return db_path


@pytest.mark.parametrize("page", PAGES, ids=[page.url_path for page in PAGES])
def test_a_page_without_the_contract_basis_says_so(
    page, orders_only: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page(page.script, orders_only, monkeypatch)
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    # Every page reads some contract-basis data except the order-basis churn trend, which
    # draws the order basis' months and nothing else.
    if page.script != "churn.py":
        assert app.warning, f"{page.title}: no warning about the missing contract data"


@pytest.mark.parametrize("page", PAGES, ids=[page.url_path for page in PAGES])
def test_a_page_without_the_order_basis_runs_without_an_error(
    page, contracts_only: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page(page.script, contracts_only, monkeypatch)
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


@pytest.mark.parametrize("page", PAGES, ids=[page.url_path for page in PAGES])
def test_a_file_without_a_built_warehouse_is_named_not_a_traceback(
    page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    app = run_page(page.script, empty, monkeypatch)
    assert not app.exception, [e.value for e in app.exception]
    errors = [e.value for e in app.error]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{empty} is not a built warehouse (Catalog Error: "), errors
    assert errors[0].endswith("run `make demo` (or `retention build`) first."), errors


def test_the_rules_of_the_bases_are_those_the_warehouse_was_built_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shop that builds with order_inactivity_days 180 and contract_grace_days 14: the
    sidebar and the win-back page said "365 days by default" and "30 by default", the
    project's defaults, not the rules its figures follow. The build records both vars
    (int_reporting_params), and the dashboard states them."""
    tables = ("customers", "orders", "contracts", "cancellations")
    db_path = built_from(tmp_path, tables, "{order_inactivity_days: 180, contract_grace_days: 14}")
    monkeypatch.setenv("RETENTION_DB_PATH", str(db_path))
    monkeypatch.syspath_prepend(str(DASHBOARD))
    app = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    (bases,) = [c.value for c in app.sidebar.caption if "basis" in c.value]
    assert "**Order basis**: a purchase keeps a customer active for 180 days " in bases
    assert "a gap between contracts of up to 14 days is bridged (`contract_grace_days`)" in bases
    assert "by default" not in bases
    winback = run_page("winback.py", db_path, monkeypatch)
    assert not winback.exception, [e.value for e in winback.exception]
    assert any(
        "On the contract basis a gap between contracts of up to 14 days is bridged" in c.value
        for c in winback.caption
    )
