"""The retention dashboard (Streamlit): `make dashboard` serves it on the published warehouse."""

from pathlib import Path

import streamlit as st
from registry import PAGES
from warehouse import db_path

st.set_page_config(page_title="Retention dashboard", layout="wide")
views = Path(__file__).parent / "views"
navigation = st.navigation(
    [
        st.Page(views / page.script, title=page.title, url_path=page.url_path, default=i == 0)
        for i, page in enumerate(PAGES)
    ]
)
st.sidebar.caption(f"Warehouse: `{db_path()}` (read-only)")
st.title(navigation.title)  # the browser test waits for this heading
navigation.run()
