"""Net Promoter Score by period and segment, and churn within 180 days by NPS class
(mart_nps, mart_nps_churn)."""

import altair as alt
import streamlit as st
from warehouse import (
    chart,
    complete_period_rows_of_either_basis,
    label,
    percent_columns,
    percent_tooltip,
    period_tooltip,
    period_x,
    query,
    stop_without_optional_table,
    table,
    value_words,
)

CLASSES = ["promoter", "passive", "detractor"]
CLASS_COUNTS = ["promoters", "passives", "detractors"]  # mart_nps' columns

st.caption(
    "NPS = 100 × (promoters − detractors) / responses, from −100 to 100. Promoters score "
    "9–10, passives 7–8, detractors 0–6."
)
stop_without_optional_table("mart_nps", "nps_responses", "NPS response")
grain = st.radio("Period", ["month", "quarter", "year"], horizontal=True)
nps = complete_period_rows_of_either_basis("mart_nps", grain).sort_values(
    ["period_start", "segment_type", "segment_value"]
)
segment_types = sorted(nps["segment_type"].unique(), key=lambda t: (t != "all", t))
segment_type = st.selectbox("Segment", segment_types or ["all"], format_func=value_words)
segments = nps[nps["segment_type"] == segment_type]
# The segment's heading in the legend and tooltips: the attribute ("Acquisition channel"), or
# "Segment" for everyone, whose one value is "all" ("All: all" read as a stutter).
segment_title = "Segment" if segment_type == "all" else label(segment_type)

st.subheader("NPS trend")
chart(
    alt.Chart(segments.dropna(subset=["nps"]))
    .mark_line(point=True)
    .encode(
        x=period_x("period_start", grain),
        y=alt.Y("nps:Q", title="NPS", scale=alt.Scale(domain=[-100, 100])),
        color=alt.Color("segment_value:N", title=segment_title),
        tooltip=[period_tooltip("period_start", grain),
                 alt.Tooltip("segment_value:N", title=segment_title), "responses",
                 "promoters", "passives", "detractors", alt.Tooltip("nps:Q", format=".1f")],
    ),
    "NPS trend",
)  # fmt: skip

st.subheader("Responses by class, all customers (whatever the segment chosen above)")
everyone = nps[nps["segment_type"] == "all"]
chart(
    alt.Chart(
        everyone.melt(
            id_vars="period_start",
            value_vars=CLASS_COUNTS,
            var_name="class",
            value_name="class_responses",
        ).assign(**{"class": lambda frame: frame["class"].map(label)})
    )
    .mark_bar()
    .encode(
        x=period_x("period_start", grain),
        y=alt.Y("class_responses:Q", title="responses"),
        color=alt.Color("class:N", sort=[label(c) for c in CLASS_COUNTS], title=None),
        tooltip=[
            period_tooltip("period_start", grain),
            "class",
            alt.Tooltip("class_responses:Q", title="Responses"),
        ],
    ),
    "responses by class",
)

st.subheader("Churn within 180 days of the response, by NPS class")
st.caption(
    "Responses at least 180 days old whose customer was active on the response date; "
    "churned: not active 180 days later."
)
churn = query("select * from marts.mart_nps_churn order by basis, nps_class")
chart(
    alt.Chart(churn.dropna(subset=["churn_rate_180d"]))
    .mark_bar()
    .encode(
        x=alt.X("nps_class:N", sort=CLASSES, title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("basis:N"),
        y=alt.Y("churn_rate_180d:Q", title="churned within 180 days", axis=alt.Axis(format="%")),
        color=alt.Color("basis:N"),
        tooltip=["basis", "nps_class", "responses_active", "churned_within_180d",
                 percent_tooltip("churn_rate_180d")],
    ),
    "churn within 180 days by NPS class",
)  # fmt: skip
table(
    churn,
    column_config=percent_columns("churn_rate_180d"),
)
