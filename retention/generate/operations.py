"""Retention operations: NPS surveys and the win-back campaign (retention_actions)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from retention.generate.common import DAY, Window
from retention.generate.contracts import ContractRows
from retention.generate.customers import Customers
from retention.generate.orders import DROPOUT_A, DROPOUT_B, BuyerTraits, Purchases, purchase_process
from retention.generate.text import labels, loaded_at, money, numbered_ids, raw_table, timestamps

# --- NPS and the retention campaign ----------------------------------------------------------
NPS_SURVEY_SHARE, NPS_SECOND_SURVEY_SHARE = 0.35, 0.30
CAMPAIGN_AT = 0.7  # the campaign runs at this fraction of the window
AT_RISK_DAYS = (120, 365)  # days since the last order that make a customer "at risk"
WINBACK_PURCHASE_SHARE = {"treatment": 0.25, "control": 0.10}
WINBACK_COST_CENTS = 500  # a voucher per treated customer; control actions cost nothing (null)


def _campaign_s(w: Window) -> int:
    """When the campaign starts: 09:00 UTC on the day at CAMPAIGN_AT of the window."""
    day = w.start_day + int(CAMPAIGN_AT * (w.n_days - 1))
    return day * DAY + 9 * 3600


# === the win-back campaign (retention_actions) ===============================================


def _campaign_name(w: Window) -> str:
    year = np.datetime64(_campaign_s(w), "s").astype("datetime64[Y]").astype(int) + 1970
    return f"winback_{year}"


def retention_campaign(
    rng: np.random.Generator,
    c: Customers,
    t: BuyerTraits,
    purchases: Purchases,
    first_number: int,
    w: Window,
) -> tuple[pa.Table, Purchases]:
    """Lapsing customers, assigned 50/50; treatment brings more of them back to buy."""
    at = _campaign_s(w)
    before = purchases.at_s < at
    last = np.full(c.n, -np.inf)
    np.maximum.at(last, purchases.customer[before], purchases.at_s[before])
    since = (at - last) / DAY
    at_risk = np.flatnonzero(~c.orphan & (since >= AT_RISK_DAYS[0]) & (since <= AT_RISK_DAYS[1]))
    treatment = rng.random(at_risk.size) < 0.5
    assigned_s = at + rng.integers(0, 7 * DAY, at_risk.size)
    assigned_s = np.minimum(assigned_s, w.end_s)
    share = np.where(
        treatment, WINBACK_PURCHASE_SHARE["treatment"], WINBACK_PURCHASE_SHARE["control"]
    )
    back = rng.random(at_risk.size) < share
    first_at = assigned_s[back] + (1 + rng.exponential(20, back.sum())) * DAY
    fresh_dropout = rng.beta(DROPOUT_A, DROPOUT_B, c.n)
    extra, _, _ = purchase_process(rng, at_risk[back], first_at, t.rate, fresh_dropout, w)
    n = at_risk.size
    table = raw_table(
        "retention_actions",
        {
            "action_id": numbered_ids("A", first_number + np.arange(n), 8),
            "customer_id": c.ids.take(pa.array(at_risk)),
            "campaign": pa.array(np.full(n, _campaign_name(w))),
            "assigned_group": labels(np.where(treatment, 0, 1), ("treatment", "control")),
            "assigned_at": timestamps(rng, assigned_s),
            "cost": money(np.full(n, WINBACK_COST_CENTS), ~treatment),
            "_loaded_at": loaded_at(rng, assigned_s, w),
        },
    )
    return table, extra


# === NPS =====================================================================================


def nps_table(
    rng: np.random.Generator,
    c: Customers,
    purchases: Purchases,
    contracts: ContractRows,
    first_number: int,
    w: Window,
) -> pa.Table:
    """Surveys some weeks after the first activity, a second one for some a year later.
    The score follows the latent satisfaction that also drives churn."""
    first = np.full(c.n, np.inf)
    np.minimum.at(first, purchases.customer, purchases.at_s)
    np.minimum.at(first, contracts.column("customer"), contracts.column("start") * DAY)
    surveyed = np.flatnonzero(~c.orphan & np.isfinite(first) & (rng.random(c.n) < NPS_SURVEY_SHARE))
    at_first = first[surveyed] + rng.uniform(14, 120, surveyed.size) * DAY
    again = rng.random(surveyed.size) < NPS_SECOND_SURVEY_SHARE
    at_second = at_first[again] + rng.uniform(180, 540, again.sum()) * DAY
    who = np.concatenate([surveyed, surveyed[again]])
    at_s = np.concatenate([at_first, at_second])
    inside = at_s <= w.end_s
    who, at_s = who[inside], np.floor(at_s[inside]).astype(np.int64)
    order = np.argsort(at_s, kind="stable")
    who, at_s = who[order], at_s[order]
    n = who.size
    score = np.clip(np.round(7.0 + 2.2 * c.satisfaction[who] + 1.3 * rng.standard_normal(n)), 0, 10)
    return raw_table(
        "nps_responses",
        {
            "response_id": numbered_ids("R", first_number + np.arange(n), 8),
            "customer_id": c.ids.take(pa.array(who)),
            "responded_at": timestamps(rng, at_s),
            "score": pa.array(score.astype(np.int64)).cast(pa.string()),
            "_loaded_at": loaded_at(rng, at_s, w),
        },
    )
