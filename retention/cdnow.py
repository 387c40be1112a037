"""The CDNOW purchase logs (Fader & Hardie's cohort), as raw input for the warehouse.

They ship in the ``lifetimes`` 0.11.3 wheel on PyPI (``lifetimes/datasets/``): the wheel is
downloaded once with ``pip download --no-deps`` into ``.cache/cdnow/`` (git-ignored) and read
as a zip; lifetimes is neither installed nor imported. ``CDNOW_sample.txt`` is the 1/10
sample of Fader, Hardie & Lee (2005): 2,357 customers, columns (no header) master-file id,
sample id, date YYYYMMDD, number of CDs, dollar value.

Every row becomes one completed order (``order_id`` = its line number, ``ordered_at`` = its
date at midnight, ``amount`` = the dollar value, ``currency`` USD) and every customer a
customer created on their first purchase day; :func:`build_sample_warehouse` loads them and
builds the warehouse with A = 1997-09-30, the end of the papers' 39-week calibration period.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

from retention import dbt_runner
from retention.paths import REPO_ROOT
from retention.predictive_columns import SWITCH

CACHE_DIR = REPO_ROOT / ".cache" / "cdnow"
WHEEL_REQUIREMENT = "lifetimes==0.11.3"
SAMPLE_MEMBER = "lifetimes/datasets/CDNOW_sample.txt"
CALIBRATION_END = "1997-09-30"
SAMPLE_VARS = {"as_of_date": CALIBRATION_END, "reporting_currency": "USD"}

# pip's words for "could not reach the index" (it retries, then reports no versions at all).
NETWORK_MARKERS = (
    "NewConnectionError",
    "connection broken by",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Max retries exceeded",
    "ProxyError",
    "Could not fetch URL",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


class CdnowError(Exception):
    """The CDNOW data could not be had or built; the message says why."""


class RegistryUnreachable(CdnowError):
    """The package registry could not be reached to download the wheel."""


def _pip() -> list[str]:
    import importlib.util

    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    raise CdnowError("no pip client to download the lifetimes wheel (not in the venv nor on PATH)")


def wheel(cache_dir: Path = CACHE_DIR) -> Path:
    """The cached lifetimes wheel; downloaded with `pip download --no-deps` when absent."""
    found = sorted(cache_dir.glob("[Ll]ifetimes-0.11.3-*.whl"))
    if found:
        return found[0]
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as staging:
        command = [
            *_pip(),
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--retries",
            "2",
            "--timeout",
            "30",
            WHEEL_REQUIREMENT,
            "-d",
            staging,
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        downloaded = sorted(Path(staging).glob("[Ll]ifetimes-0.11.3-*.whl"))
        if completed.returncode != 0 or not downloaded:
            output = completed.stdout + completed.stderr
            if any(marker in output for marker in NETWORK_MARKERS):
                raise RegistryUnreachable(
                    f"package registry unreachable, cannot download {WHEEL_REQUIREMENT}"
                )
            raise CdnowError(f"`{' '.join(command)}` failed:\n{output}")
        # Move into place only when complete, so a concurrent run never reads half a file.
        target = cache_dir / downloaded[0].name
        os.replace(downloaded[0], target)
    return target


def read_member(member: str, cache_dir: Path = CACHE_DIR) -> bytes:
    """The bytes of one file inside the wheel (e.g. ``lifetimes/datasets/CDNOW_sample.txt``)."""
    with zipfile.ZipFile(wheel(cache_dir)) as archive:
        return archive.read(member)


def sample_purchases(text: bytes) -> pd.DataFrame:
    """CDNOW_sample.txt as one row per line: customer_id (the sample id), purchase_date,
    net_revenue (the dollar value)."""
    raw = pd.read_csv(
        io.BytesIO(text),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "number_of_cds", "dollar_value"],
        dtype=str,
    )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "purchase_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "net_revenue": raw["dollar_value"].astype(float),
            "dollar_value": raw["dollar_value"],
        }
    )


def write_raw(purchases: pd.DataFrame, folder: Path) -> Path:
    """orders.csv and customers.csv (the raw input) for the purchases."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "order_id": [str(i) for i in range(1, len(purchases) + 1)],
            "customer_id": purchases["customer_id"],
            "ordered_at": purchases["purchase_date"].dt.strftime("%Y-%m-%dT00:00:00"),
            "status": "completed",
            "amount": purchases["dollar_value"],
            "currency": "USD",
        }
    ).to_csv(folder / "orders.csv", index=False)
    first = purchases.groupby("customer_id", as_index=False)["purchase_date"].min()
    pd.DataFrame(
        {
            "customer_id": first["customer_id"],
            "created_at": first["purchase_date"].dt.strftime("%Y-%m-%dT00:00:00"),
        }
    ).to_csv(folder / "customers.csv", index=False)
    return folder


def rebuild_parameters(db: Path) -> dbt_runner.Result:
    """An incremental `dbt run` of int_predictive_parameters on a sample warehouse built by
    :func:`build_sample_warehouse` (python_checks/test_predictive_cdnow.py), with the build's
    target folder (its partial parse)."""
    return _dbt_on_sample(["run", "--no-use-colors", "--select", "int_predictive_parameters"], db)


def _dbt_on_sample(args: list[str], db: Path) -> dbt_runner.Result:
    """A dbt command on the sample warehouse `db`, with A = 1997-09-30, USD and the
    predictive models on; target and log folders beside it (one partial parse)."""
    work = db.parent
    return dbt_runner.run(
        args,
        db,
        target_path=work / "target",
        log_path=work / "logs",
        vars=SAMPLE_VARS,
        env={SWITCH: "on"},
    )


def build_sample_warehouse(work: Path, cache_dir: Path = CACHE_DIR) -> Path:
    """Load the CDNOW 1/10 sample into ``work/cdnow_sample.duckdb`` (a fresh file) and build it
    with A = 1997-09-30 and USD, the predictive models on. CdnowError when a step fails."""
    from retention.load import LoadError, load_dir

    purchases = sample_purchases(read_member(SAMPLE_MEMBER, cache_dir))
    db = work / "cdnow_sample.duckdb"
    try:  # a --work that cannot be written (under a file, read-only): one line, not a traceback
        raw = write_raw(purchases, work / "raw")
        for path in (db, db.with_name(db.name + ".wal")):
            path.unlink(missing_ok=True)
        load_dir(raw, db)
        completed = _dbt_on_sample([*dbt_runner.BUILD, "--no-use-colors"], db)
        (work / "dbt_output.log").write_text(completed.output, encoding="utf-8")
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise CdnowError(f"cannot build in --work {work}: {exc.strerror or exc}{where}") from exc
    except LoadError as exc:
        raise CdnowError(f"cannot load the CDNOW sample into {db}: {exc}") from exc
    if completed.returncode != 0:
        raise CdnowError(
            f"dbt build of the CDNOW sample failed (log: {work / 'dbt_output.log'}):\n"
            + completed.output[-3000:]
        )
    return db
