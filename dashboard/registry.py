"""The dashboard's pages, in sidebar order: one line per page.

`app.py` builds the navigation from this list and the browser test
(`tests/test_pages.py`) renders every page in it, so a page added here is tested too.
Each page is an exposure in models/marts/_marts__exposures.yml.
"""

from typing import NamedTuple


class Page(NamedTuple):
    script: str  # file in views/
    title: str  # also the heading the page shows (the browser test waits for it)
    url_path: str  # the page's address: http://host:port/<url_path>


PAGES = [
    Page("overview.py", "Retention overview", "overview"),
    Page("cohorts.py", "Cohort retention", "cohorts"),
    Page("churn.py", "Churn and retention rate", "churn"),
    Page("mrr.py", "MRR, GRR and NRR", "mrr"),
    Page("churn_reasons.py", "Churn by reason and type", "churn-reasons"),
    Page("clv.py", "CLV and LTV:CAC by channel", "clv"),
    Page("predictive.py", "Predictive CLV and contract survival", "predictive-clv"),
    Page("saves.py", "Final-offer saves", "saves"),
    Page("winback.py", "Win-back", "winback"),
    Page("nps.py", "NPS and churn by NPS class", "nps"),
    Page("programmes.py", "Retention programme uplift", "programmes"),
]
