"""How the dashboard writes what it shows (dashboard/warehouse.py): a category value in words,
a column's label with its abbreviations in capitals, and money in tables and tooltips alike.
Expected values are written by hand."""

import math
import sys
from pathlib import Path

import pytest

DASHBOARD = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(DASHBOARD))
import warehouse  # noqa: E402


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("paid_search", "Paid search"),  # underscores as spaces, the first letter in capitals
        ("geometric_limit", "Geometric limit"),
        ("price_too_high", "Price too high"),
        ("contract", "Contract"),
        ("nps", "NPS"),  # an abbreviation (WORDS)
        ("cac", "CAC"),
        ("ok", "OK"),
        ("winback_lapsed", "Win-back lapsed"),  # WORDS' "win-back", then its capital
        ("bg_nbd", "BG/NBD"),  # a form of its own (VALUE_WORDS), as it is
        ("sbg", "sBG"),  # not "SBG": an own form is not capitalised
        ("NL", "NL"),  # a country code stays in capitals
        ("order basis", "Order basis"),  # a page's own words
        ("30 days", "30 days"),
    ],
)
def test_a_category_value_reads_as_words(value: str, shown: str) -> None:
    """Charts and tables showed the codes: `paid_search`, `geometric_limit`, `bg_nbd`."""
    assert warehouse.value_words(value) == shown


def test_a_value_that_is_no_text_is_shown_as_it_is() -> None:
    assert warehouse.value_words(None) is None
    assert math.isnan(warehouse.value_words(float("nan")))
    assert warehouse.value_words(3) == 3


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
