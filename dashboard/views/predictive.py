"""Predictive CLV: the fitted BG/NBD, Gamma-Gamma and shifted-beta-geometric models, the
probability each customer is still alive, predicted CLV by segment and the top customers, and
observed against projected contract survival (mart_clv_model_parameters,
mart_clv_predictions, mart_contract_survival)."""

import altair as alt
import pandas as pd
import streamlit as st
from warehouse import (
    chart,
    label,
    money,
    money_columns,
    money_tooltip,
    percent_columns,
    percent_tooltip,
    query,
    table,
    value_words,
)

SEGMENTS = {"acquisition channel": "acquisition_channel", "country": "country",
            "segment": "segment"}  # fmt: skip


def status(code: str) -> str:
    """A fit status as the chart and the tables show it, with the mart's code: "Geometric
    limit (`geometric_limit`)"."""
    return f"{value_words(code)} (`{code}`)"


st.caption(
    "Fitted on purchases and contract cohorts up to the reporting date A. BG/NBD: expected "
    "purchase days in the next 365 days and P(alive); Gamma-Gamma: expected order value; "
    "predicted CLV (365 days) = expected purchases × expected order value × gross margin. "
    "sBG: each contract cohort's survival, projected past its last complete month."
)
parameters = query(
    "select * from marts.mart_clv_model_parameters order by model, segment, parameter"
)
if parameters.empty:
    st.warning(
        "No predictive model in this warehouse: it was built with RETENTION_PREDICTIVE=off, "
        "which leaves the predictive marts empty. Build it without that setting (as "
        "`make demo` does) to fit them."
    )
    st.stop()

# --- the fitted parameters ----------------------------------------------------------------
st.subheader("Fitted parameters")
customer_models = parameters[parameters["model"] != "sbg"]
table(
    pd.DataFrame(
        [
            {
                "model": model,
                "segment": fit.segment.iloc[0],
                "parameters": ", ".join(
                    f"{name} = {value:.4g}" if pd.notna(value) else f"{name}: none"
                    for name, value in zip(fit.parameter, fit.value, strict=True)
                ),
                "observations": fit.observations.iloc[0],
                "log_likelihood": fit.log_likelihood.iloc[0],
                "fit_status": fit.fit_status.iloc[0],
                "fit_message": fit.fit_message.iloc[0],
            }
            for model, fit in customer_models.groupby("model", sort=False)
        ]
    ),
    column_config={"log_likelihood": st.column_config.NumberColumn(format="%.1f")},
)
fits = (
    parameters[parameters["model"] == "sbg"]
    .drop_duplicates("segment")
    .groupby("fit_status")
    .size()
    .rename("cohorts")
    .reset_index()
)
st.markdown("**sBG fits of the contract cohorts, by fit status**")
chart(
    alt.Chart(fits)
    .mark_bar()
    .encode(
        y=alt.Y("fit_status:N", sort="-x", title=None),
        x=alt.X("cohorts:Q", title="contract cohorts"),
        tooltip=["fit_status", "cohorts"],
    ),
    "the sBG fits",
)
# Why a cohort has no projection: each fit's status and message, as the mart has them.
st.caption(
    f"A converged fit, {status('ok')}, projects a cohort's survival with the sBG; "
    f"{status('geometric_limit')}: the cohort loses customers at a steady rate, as if every "
    "customer had the same churn probability, the model the sBG tends to as alpha and beta "
    "grow without bound, and that one churn probability per month projects it (alpha and "
    f"beta are infinite). No projection otherwise: {status('insufficient_periods')}: the "
    "cohort is too young (fewer than 3 complete months after month 0); "
    f"{status('no_churn')}: nobody (or everybody) in it churned; {status('invalid_input')}: "
    "counts the sBG cannot take, as when the active customers rise in a later month "
    f"(customers came back); {status('not_converged')}: the data do not pick one model (as "
    "when the customers seem either to leave in the first month or never to leave)."
)
with st.expander("Each contract cohort's sBG fit"):
    cohort_fits = parameters[parameters["model"] == "sbg"].drop_duplicates("segment")
    table(
        pd.DataFrame(
            {
                "cohort_month": pd.to_datetime(cohort_fits["segment"]).dt.date,
                "customers": cohort_fits["observations"],
                "fit_status": cohort_fits["fit_status"],
                "fit_message": cohort_fits["fit_message"],
            }
        ).sort_values("cohort_month", ascending=False)
    )

# --- P(alive) and predicted CLV ---------------------------------------------------------
predictions = query(
    "select p.*, coalesce(d.acquisition_channel, 'unknown') as acquisition_channel, "
    "coalesce(d.country, 'unknown') as country, coalesce(d.segment, 'unknown') as segment "
    "from marts.mart_clv_predictions p join marts.dim_customers d using (customer_id)"
)
st.subheader("Probability that a customer is still alive")
st.caption(
    "P(alive): the BG/NBD probability that a customer with a purchase up to A has not "
    "dropped out, from their repeat purchase days, recency and age."
)
chart(
    alt.Chart(predictions.dropna(subset=["p_alive"]))
    .mark_bar()
    .encode(
        x=alt.X("p_alive:Q", bin=alt.Bin(step=0.05), title="P(alive)"),
        y=alt.Y("count():Q", title="customers"),
        tooltip=[alt.Tooltip("count():Q", title="Customers")],
    ),
    "the P(alive) distribution",
)

name = st.selectbox("Predicted CLV by", list(SEGMENTS))
column = SEGMENTS[name]
valued = predictions.dropna(subset=["predicted_clv_365d"])
by_segment = (
    valued.groupby(column)["predicted_clv_365d"]
    .agg(customers="size", mean_predicted_clv="mean", total_predicted_clv="sum")
    .reset_index()
    .sort_values("mean_predicted_clv", ascending=False)
)
st.subheader(f"Predicted CLV (next 365 days) by {name}")
chart(
    alt.Chart(by_segment)
    .mark_bar()
    .encode(
        x=alt.X(f"{column}:N", sort="-y", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("mean_predicted_clv:Q", title=money("mean predicted CLV per customer")),
        tooltip=[
            alt.Tooltip(f"{column}:N", title=label(name)),
            "customers",
            money_tooltip("mean_predicted_clv"),
            money_tooltip("total_predicted_clv"),
        ],
    ),
    f"predicted CLV by {name}",
)
st.markdown("**Top 20 customers by predicted CLV**")
table(
    valued.nlargest(20, "predicted_clv_365d")[
        ["customer_id", "acquisition_channel", "country", "segment", "frequency",
         "recency_weeks", "age_weeks", "p_alive", "expected_purchases_365d",
         "expected_average_order_value", "predicted_clv_365d"]
    ],
    column_config={
        **percent_columns("p_alive"),
        **{c: st.column_config.NumberColumn(format="%.2f")
           for c in ["recency_weeks", "age_weeks", "expected_purchases_365d"]},
        **money_columns("expected_average_order_value", "predicted_clv_365d"),
    },
)  # fmt: skip

# --- observed and projected contract survival --------------------------------------------
st.subheader("Contract survival: observed and projected")
survival = query(
    "select * from marts.mart_contract_survival order by cohort_month, months_since_cohort"
)
# The cohorts with a projection: an sBG fit `ok`, or at its geometric limit.
projected = survival["fit_status"].isin(["ok", "geometric_limit"])
fitted = sorted(survival.loc[projected, "cohort_month"].unique(), reverse=True)
if not fitted:
    st.warning(
        "No data for contract survival: no contract cohort has a projection (an sBG fit "
        "`ok` or at its geometric limit)."
    )
    st.stop()
cohort = st.selectbox(
    "Contract cohort (with a projection)",
    fitted,
    format_func=lambda m: f"{m:%B %Y}",
)
cells = survival[survival["cohort_month"] == cohort]
first = cells.iloc[0]
if first.fit_status == "ok":
    model = f"sBG alpha {first.alpha:.3f}, beta {first.beta:.3f}"
else:
    churn = parameters.loc[
        (parameters["model"] == "sbg")
        & (parameters["segment"] == f"{cohort:%Y-%m-%d}")
        & (parameters["parameter"] == "churn_probability"),
        "value",
    ]
    rate = f"{churn.iloc[0]:.2%}" if len(churn) else "not in mart_clv_model_parameters"
    model = (
        f"the sBG's geometric limit, churn probability {rate} a month for every customer "
        "(alpha and beta infinite)"
    )
st.caption(
    f"{first.cohort_size:,} customers; {model}. Observed: fct_cohorts' contract retention "
    "of the complete months; projected: the fitted survival for every month, the only value "
    "where `is_projected` (month not yet complete)."
)
lines = cells.melt(
    id_vars=["months_since_cohort", "is_projected"],
    value_vars=["observed_retention", "projected_retention"],
    var_name="series",
    value_name="retention",
).dropna(subset=["retention"])
lines["series"] = lines["series"].str.removesuffix("_retention")
SERIES = alt.Scale(domain=["observed", "projected"], range=["#0068c9", "#ff8700"])
curves = (
    alt.Chart(lines)
    .mark_line(point=True)
    .encode(
        x=alt.X("months_since_cohort:Q", title="months since cohort"),
        y=alt.Y("retention:Q", title="surviving share", axis=alt.Axis(format="%"),
                scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", scale=SERIES, title=None),
        strokeDash=alt.StrokeDash(
            "series:N",
            scale=alt.Scale(domain=["observed", "projected"], range=[[1, 0], [6, 3]]),
            title=None,
        ),
        tooltip=["series", "months_since_cohort", "is_projected", percent_tooltip("retention")],
    )
)  # fmt: skip
# From the first month that is not complete yet, only the projection exists (is_projected).
projected_from = cells.loc[
    cells["is_projected"].fillna(False).astype(bool), "months_since_cohort"
].min()
start = pd.DataFrame({"months_since_cohort": [projected_from], "label": ["projection only →"]})
marker = alt.Chart(start).encode(x="months_since_cohort:Q")
layers = [curves]
if pd.notna(projected_from):
    layers += [
        marker.mark_rule(strokeDash=[2, 2], color="#888"),
        marker.mark_text(align="left", dx=4, dy=12, color="#888").encode(
            text="label:N", y=alt.value(0)
        ),
    ]
chart(alt.layer(*layers, data=lines), "observed and projected contract survival")
