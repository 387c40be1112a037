"""The x / t_x / T summary the BG/NBD and Gamma-Gamma fits take, computed with pandas from
purchases: the checks' reference for the warehouse's int_predictive_summary (which is SQL:
models/intermediate/predictive/), itself checked by hand in test_predictive.py."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from retention.predictive import DAYS_PER_WEEK


def rfm_summary(purchases: pd.DataFrame, as_of: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """x, t_x, T and monetary value per customer from purchases up to and including ``as_of``.

    ``purchases`` has ``customer_id``, ``purchase_date`` and ``net_revenue``. Purchases on the
    same day are one transaction (their net revenue summed). Per customer:
    - ``x`` = distinct purchase days - 1 (repeat transactions);
    - ``t_x`` = (last - first purchase day) / 7 and ``T`` = (as_of - first purchase day) / 7,
      weeks; a customer whose only day is ``as_of`` has T = 0;
    - ``monetary_value`` = mean net revenue of the repeat purchase days (first day left
      out, as in the Gamma-Gamma paper); NaN when x = 0.
    Purchases after ``as_of`` are ignored. One row per customer with a purchase, ordered by id.
    """
    as_of = pd.Timestamp(as_of).normalize()
    bought = purchases.assign(day=pd.to_datetime(purchases["purchase_date"]).dt.normalize())
    days = (
        bought[bought["day"] <= as_of]
        .groupby(["customer_id", "day"], as_index=False)["net_revenue"]
        .sum()
    )
    if days.empty:
        columns = {"customer_id": object, "x": "int64", "t_x": float, "T": float}
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()}).assign(
            monetary_value=pd.Series(dtype=float)
        )
    per_customer = days.groupby("customer_id")["day"]
    first, last = per_customer.min(), per_customer.max()
    repeat = days[days["day"] > days["customer_id"].map(first)]
    out = pd.DataFrame(
        {
            "x": per_customer.size() - 1,
            "t_x": (last - first).dt.days / DAYS_PER_WEEK,
            "T": (as_of - first).dt.days / DAYS_PER_WEEK,
            "monetary_value": repeat.groupby("customer_id")["net_revenue"].mean(),
        }
    )
    out.index.name = "customer_id"
    out = out.reset_index().sort_values("customer_id", ignore_index=True)
    out["x"] = out["x"].astype("int64")
    out["monetary_value"] = out["monetary_value"].astype(float)
    return out
