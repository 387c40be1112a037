"""How the dashboard writes what it shows (dashboard/warehouse.py): category values in the
words of retention/words.py (tested in python_checks/test_codes_in_words.py), a column's
label with its abbreviations in capitals, and money and counts in tables and tooltips
alike. Expected values are written by hand."""

import sys
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

DASHBOARD = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(DASHBOARD))
import warehouse  # noqa: E402

from retention import words  # noqa: E402


def test_category_values_are_in_the_words_retention_summary_prints() -> None:
    """The dashboard had its own word table and function; `retention summary` printed the
    codes (`paid_search`). Both read retention/words.py (its tests: python_checks/
    test_codes_in_words.py): the dashboard holds no copy of its own."""
    assert warehouse.value_words is words.value_words
    assert warehouse.spoken is words.spoken
    assert not hasattr(warehouse, "WORDS")
    assert not hasattr(warehouse, "VALUE_WORDS")


def test_a_table_and_a_chart_show_a_column_s_own_words(monkeypatch) -> None:
    """mart_churn's reason `none` (no cancellation request) read "None"; a customer
    segment called `none` is no such reason and keeps its plain words."""
    frame = pd.DataFrame({"reason_code": ["none", "price_too_high"], "segment": ["none", "b2b"]})
    assert warehouse.in_words(frame).to_dict("list") == {
        "reason_code": ["No cancellation", "Price too high"],
        "segment": ["None", "B2b"],
    }
    drawn = []
    monkeypatch.setattr(
        warehouse.st, "altair_chart", lambda spec, **kw: drawn.append(spec.to_dict())
    )
    warehouse.chart(
        alt.Chart(frame.assign(n=[1, 2]))
        .mark_bar()
        .encode(y=alt.Y("reason_code:N", sort=["none", "price_too_high"]), x="n:Q"),
        "reasons",
    )
    ((spec),) = drawn
    assert spec["encoding"]["y"]["sort"] == ["No cancellation", "Price too high"]


@pytest.mark.parametrize(
    ("column", "shown"),
    [
        ("arpa_monthly", "ARPA monthly"),  # read "Arpa monthly"
        ("arr", "ARR"),
        ("grr", "GRR"),
        ("nrr", "NRR"),
        ("aov", "AOV"),
        ("paid_search_cac", "Paid search CAC"),
        ("churned_mrr", "Churned MRR"),  # as before
        ("won_back_within_90", "Won back within 90 days"),
    ],
)
def test_a_label_writes_abbreviations_in_capitals(column: str, shown: str) -> None:
    """Labels and category values share one list of words written otherwise (WORDS)."""
    assert warehouse.label(column) == shown


def test_money_reads_the_same_in_tables_and_tooltips() -> None:
    """A tooltip showed 12,345.60 and the table beside it 12345.60 (Streamlit's printf had
    no separator). Both separate the thousands and show the cents: ",.2f" for Vega's
    d3-format, "%,.2f" for Streamlit's printf (sprintf-js reads "," as the separator)."""
    (config,) = warehouse.money_columns("saved_mrr").values()
    assert config["type_config"]["format"] == "%,.2f"
    assert warehouse.money_tooltip("saved_mrr").to_dict()["format"] == ",.2f"


def test_a_chart_writes_a_negative_number_with_the_minus_of_the_tables(monkeypatch) -> None:
    """A tooltip showed churned MRR as "−1,234.50" (U+2212: d3-format's en-US locale, Vega's
    default) and a table "-1,234.50" (Streamlit's printf, sprintf-js, writes the hyphen).
    Every chart is given d3-format's en-US number locale with the hyphen-minus as its
    minus; the browser test (`test_negative_money_has_the_minus_of_the_tables`) checks that
    Vega draws it so."""
    drawn = []
    monkeypatch.setattr(
        warehouse.st, "altair_chart", lambda spec, **kw: drawn.append(spec.to_dict())
    )
    warehouse.chart(
        alt.Chart(pd.DataFrame({"step": ["churned_mrr"], "amount": [-1234.5]}))
        .mark_bar()
        .encode(x="step:N", y="amount:Q", tooltip=[warehouse.money_tooltip("amount")]),
        "a step down",
    )
    ((spec),) = drawn
    assert spec["config"]["locale"] == {
        "number": {
            "decimal": ".",
            "thousands": ",",
            "grouping": [3],
            "currency": ["$", ""],
            "minus": "-",  # not d3-format's default, "\u2212"
        }
    }
    assert spec["config"]["axis"] == {"labelLimit": 400}  # the axes' own config kept


# Whole numbers as a page has them: counts (customers, a window's won-back events, churned
# customers) beside a year and a month since the cohort, which count nothing.
WHOLE_NUMBERS = pd.DataFrame(
    {
        "customers": [1_000_000, 2_500],
        "won_back_within_90": [1_200, 3],
        "churned_customers": [40_000, 2],
        "year": [2024, 2025],
        "months_since_cohort": [12, 13],
    }
)


def test_a_count_in_a_table_has_its_thousands_separated(monkeypatch) -> None:
    """A table read 1000000 customers (Streamlit's number column has no separator): a
    count is shown "%,d", 1,000,000 (printf as Streamlit's sprintf-js reads it: "," the
    separator, "d" a whole number); a year (2024, not 2,024) and a month since the cohort
    are shown as they are, and a page's own format of a count is kept."""
    shown = []
    monkeypatch.setattr(warehouse.st, "dataframe", lambda frame, **kw: shown.append(kw))
    warehouse.table(
        WHOLE_NUMBERS,
        column_config={"churned_customers": warehouse.st.column_config.NumberColumn(format="%d")},
    )
    ((kw),) = shown
    formats = {
        column: (config.get("type_config") or {}).get("format")
        for column, config in kw["column_config"].items()
    }
    assert formats == {
        "customers": "%,d",
        "won_back_within_90": "%,d",  # a count with its window of days (90)
        "churned_customers": "%d",  # the page's own
        "year": None,
        "months_since_cohort": None,
    }


def test_a_count_in_a_tooltip_has_its_thousands_separated(monkeypatch) -> None:
    """A tooltip read "Customers: 1000000" (Vega's default number format has no
    separator): a count's tooltip, as it is, summed or the rows counted ("count()"), is
    shown ",d" (d3-format: "1,000,000"), as the table shows it; a year, a month since the
    cohort and a count's mean (no whole number) have no such format, and a page's own
    format is kept."""
    drawn = []
    monkeypatch.setattr(
        warehouse.st, "altair_chart", lambda spec, **kw: drawn.append(spec.to_dict())
    )
    warehouse.chart(
        alt.Chart(WHOLE_NUMBERS)
        .mark_bar()
        .encode(
            x="months_since_cohort:O",
            y="sum(churned_customers):Q",
            tooltip=[
                "year",
                "months_since_cohort",
                "customers",
                "won_back_within_90",
                "sum(churned_customers):Q",
                alt.Tooltip("count():Q", title="Rows"),
                "mean(customers):Q",
                alt.Tooltip("churned_customers:Q", format=".1f"),
            ],
        ),
        "whole numbers",
    )
    ((spec),) = drawn
    formats = [
        (tip.get("aggregate"), tip.get("field"), tip.get("format"))
        for tip in spec["encoding"]["tooltip"]
    ]
    assert formats == [
        (None, "year", None),
        (None, "months_since_cohort", None),
        (None, "customers", ",d"),
        (None, "won_back_within_90", ",d"),
        ("sum", "churned_customers", ",d"),
        ("count", None, ",d"),
        ("mean", "customers", None),
        (None, "churned_customers", ".1f"),  # the page's own
    ]


def _drawn(spec: alt.TopLevelMixin, monkeypatch) -> dict:
    """`spec` as `warehouse.chart` hands it to Streamlit (a Vega-Lite dict)."""
    drawn = []
    monkeypatch.setattr(
        warehouse.st, "altair_chart", lambda spec, **kw: drawn.append(spec.to_dict())
    )
    warehouse.chart(spec, "titles")
    ((spec),) = drawn
    return spec


def test_axis_and_legend_titles_read_as_table_headers(monkeypatch) -> None:
    """The axes and legends read "active customers", "churn type" and, untitled, the field's
    name "basis", where the tables' headers read "Active customers" (`label`). A title a
    page leaves out is its field's label, one a page writes in lowercase is written with
    its first letter in capitals and the abbreviations of WORDS; a title given in capitals,
    one turned off (None), and a channel without an axis or a legend are kept as given."""
    frame = pd.DataFrame(
        {"active_customers": [1], "arpa_monthly": [2.0], "churn_type": ["push"], "kind": ["a"]}
    )
    spec = _drawn(
        alt.Chart(frame)
        .mark_point()
        .encode(
            x="active_customers:Q",  # no title: its label
            y=alt.Y("arpa_monthly:Q", title="mean arpa monthly (EUR)"),
            color=alt.Color("churn_type:N"),
            size=alt.Size("active_customers:Q", title=None),
            shape=alt.Shape("kind:N", legend=None),
        ),
        monkeypatch,
    )
    titles = {name: channel.get("title", "-") for name, channel in spec["encoding"].items()}
    assert titles == {
        "x": "Active customers",  # label("active_customers")
        "y": "Mean ARPA monthly (EUR)",  # "mean" capitalised, "arpa" as WORDS writes it
        "color": "Churn type",  # label("churn_type")
        "size": None,  # turned off: kept
        "shape": "-",  # no legend drawn: no title given
        "tooltip": "-",
    }
    spec = _drawn(
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("active_customers:Q", title="active customers"),
            y=alt.Y("count():Q", title="P(alive) of customers", axis=alt.Axis(title="rows")),
        ),
        monkeypatch,
    )
    assert spec["encoding"]["x"]["title"] == "Active customers"
    assert spec["encoding"]["y"]["title"] == "P(alive) of customers"  # a capital: kept
    assert spec["encoding"]["y"]["axis"]["title"] == "Rows"  # the axis' own, which is shown


def test_a_layer_gets_no_title_another_layer_gives(monkeypatch) -> None:
    """The programme uplift: an interval titled by the page and a point over the same x
    untitled. Vega-Lite shows the given title; a label given to the point too would be
    joined to it ("Uplift (treatment − control retention), Uplift"). An interval's end (x2)
    shares its axis and gets no title of its own."""
    frame = pd.DataFrame({"uplift": [0.1], "uplift_ci_low": [0.0], "uplift_ci_high": [0.2]})
    interval = (
        alt.Chart()
        .mark_errorbar()
        .encode(
            x=alt.X("uplift_ci_low:Q", title="uplift (treatment − control retention)"),
            x2="uplift_ci_high:Q",
        )
    )
    point = alt.Chart().mark_point().encode(x="uplift:Q")
    spec = _drawn(alt.layer(interval, point, data=frame), monkeypatch)
    assert [
        {name: spec_layer["encoding"][name].get("title") for name in ("x", "x2")
         if name in spec_layer["encoding"]}
        for spec_layer in spec["layer"]
    ] == [{"x": "Uplift (treatment − control retention)", "x2": None}, {"x": None}]  # fmt: skip
