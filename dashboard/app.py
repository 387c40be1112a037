"""The retention dashboard (Streamlit): `make dashboard` serves it on the published warehouse."""

from pathlib import Path

import streamlit as st
from registry import PAGES
from warehouse import contract_grace_rule, order_activity_rule, reporting_param, shown_db_path

st.set_page_config(page_title="Retention dashboard", layout="wide")
views = Path(__file__).parent / "views"
navigation = st.navigation(
    [
        st.Page(views / page.script, title=page.title, url_path=page.url_path, default=i == 0)
        for i, page in enumerate(PAGES)
    ]
)
# Every page: the day its figures run to, and what the two bases mean.
as_of = reporting_param("as_of_date")
if as_of is not None:
    st.sidebar.markdown(f"**Reporting date (A): {as_of:%Y-%m-%d}**")
# The bases' rules with the vars the build recorded (their defaults, said as such, for a
# warehouse built before it recorded them).
st.sidebar.caption(
    "Figures run to the reporting date A, the last day of the data, and show only periods "
    f"that had ended by A. **Order basis**: {order_activity_rule()}. **Contract basis**: "
    f"active while a subscription contract covers the day; {contract_grace_rule()}."
)
st.sidebar.caption(f"Warehouse (read-only): `{shown_db_path()}`")
st.title(navigation.title)  # the browser test waits for this heading
navigation.run()
