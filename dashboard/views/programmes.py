"""Retention programmes: treatment vs control retention per campaign, the uplift with its
95 % interval and whether it is significant (mart_retention_programmes)."""

import altair as alt
import pandas as pd
import streamlit as st
from warehouse import (
    chart,
    money_columns,
    percent_columns,
    percent_tooltip,
    query,
    stop_without_optional_table,
    table,
    value_words,
)

stop_without_optional_table("mart_retention_programmes", "retention_actions", "retention programme")
basis = st.radio("Basis", ["contract", "order"], horizontal=True, format_func=value_words)
st.caption(
    "Each campaign's treatment group against its control group: the share of each still "
    "active H days after their assignment (H = the var `programme_horizon_days`, 90 by "
    "default), counting the customers assigned at least H days before A and active on the "
    "basis on their assignment day. Uplift = treatment − control retention, with its 95 % "
    "Newcombe interval; significant when the interval excludes 0. Incremental customers = "
    "uplift × treatment customers; return on cost = (incremental revenue × gross margin − "
    "cost) ÷ cost."
)
programmes = query(
    f"select * from marts.mart_retention_programmes where basis = '{basis}' order by campaign"
)
# A significant uplift below 0 (the programme lost customers) is not drawn as good news.
# (is_significant is null where the uplift is: no control or treatment customers.)
programmes["significance"] = [
    "significant gain" if pd.notna(significant) and significant and uplift > 0 else
    "significant loss" if pd.notna(significant) and significant else "not significant"
    for significant, uplift in zip(programmes["is_significant"], programmes["uplift"],
                                   strict=True)
]  # fmt: skip

st.subheader("Uplift per campaign with its 95 % interval")
uplift = programmes.dropna(subset=["uplift"])
base = alt.Chart().encode(
    y=alt.Y("campaign:N", title=None),
    color=alt.Color(
        "significance:N",
        scale=alt.Scale(
            domain=["significant gain", "significant loss", "not significant"],
            range=["#1b9e77", "#d95f02", "#999"],
        ),
        title=None,
    ),
    # On the interval as on its point (the interval's own tooltip listed its ends as raw
    # fractions under their column names).
    tooltip=[
        "campaign",
        percent_tooltip("uplift"),
        percent_tooltip("uplift_ci_low"),
        percent_tooltip("uplift_ci_high"),
        "significance",
        "treatment_customers",
        "control_customers",
    ],
)
interval = base.mark_errorbar(ticks=True, thickness=2).encode(
    x=alt.X("uplift_ci_low:Q", title="uplift (treatment − control retention)",
            axis=alt.Axis(format="%")),
    x2="uplift_ci_high:Q",
)  # fmt: skip
point = base.mark_point(filled=True, size=80).encode(x="uplift:Q")
zero = alt.Chart().mark_rule(strokeDash=[4, 4]).encode(x=alt.datum(0))
chart(alt.layer(interval, point, zero, data=uplift), "programme uplift")

st.subheader("Retention after the horizon: treatment and control")
groups = programmes.melt(
    id_vars="campaign",
    value_vars=["treatment_retention_rate", "control_retention_rate"],
    var_name="group",
    value_name="retention_rate",
).dropna()
groups["group"] = groups["group"].str.removesuffix("_retention_rate")
chart(
    alt.Chart(groups)
    .mark_bar()
    .encode(
        y=alt.Y("campaign:N", title=None),
        yOffset=alt.YOffset("group:N", sort=["treatment", "control"]),
        x=alt.X("retention_rate:Q", title="retained", axis=alt.Axis(format="%")),
        color=alt.Color("group:N", sort=["treatment", "control"], title=None),
        tooltip=["campaign", "group", percent_tooltip("retention_rate")],
    ),
    "treatment and control retention",
)

st.subheader("Incremental effect and cost")
table(
    programmes[
        [
            "campaign", "treatment_customers", "treatment_retained", "control_customers",
            "control_retained", "uplift", "uplift_ci_low", "uplift_ci_high", "significance",
            "incremental_customers_retained", "incremental_revenue", "programme_cost",
            "cost_per_incremental_customer", "return_on_cost",
        ]
    ],
    column_config={
        **percent_columns("uplift", "uplift_ci_low", "uplift_ci_high", "return_on_cost"),
        # An estimate with decimals, as many as the customers: thousands separated.
        "incremental_customers_retained": st.column_config.NumberColumn(format="%,.2f"),
        **money_columns("incremental_revenue", "programme_cost", "cost_per_incremental_customer"),
    },
)  # fmt: skip
