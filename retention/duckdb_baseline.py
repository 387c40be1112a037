"""Run retention/duckdb_baseline.sql, the plain DuckDB SQL script, on a data folder.

The script computes the headline numbers of retention/pandas_baseline.py (monthly
order-basis churn, the cohort retention matrix, the repeat purchase rate per first-purchase
month, the seed-formula CLV of all customers) from the same Parquet files; this module only
points DuckDB at the folder, runs the script and writes its five result tables as the
pandas script's JSON, so that `retention bench` times both and checks both against the
marts the same way.

    python -m retention.duckdb_baseline DATA_DIR --out numbers.json
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from retention.compare import baseline_command

SCRIPT = Path(__file__).with_name("duckdb_baseline.sql")


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    cursor = con.execute(f"select * from {table}")
    names = [column[0] for column in cursor.description]
    return [
        {n: (str(v) if isinstance(v, dt.date) else v) for n, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


def main(data_dir: Path) -> dict[str, Any]:
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        con.execute("set file_search_path = ?", [str(data_dir.resolve())])
        con.execute(SCRIPT.read_text(encoding="utf-8"))
        (clv,) = _rows(con, "clv")
        return {
            "as_of_date": _rows(con, "as_of")[0]["as_of_date"],
            "monthly_churn": _rows(con, "monthly_churn"),
            "cohorts": _rows(con, "cohorts"),
            "repeat_purchase": _rows(con, "repeat_purchase"),
            "clv": clv,
        }


if __name__ == "__main__":
    baseline_command(main, __doc__)
