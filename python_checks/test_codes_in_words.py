"""Category codes in words (retention/words.py), the one definition the dashboard's charts,
tables and filters and `retention summary` read. Expected words are written by hand."""

import math

import pytest

from retention.words import spoken, value_words


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
        ("bg_nbd", "BG/NBD"),  # words of its own (VALUE_WORDS), as they are
        ("sbg", "sBG"),  # not "SBG": own words are not capitalised
        ("NL", "NL"),  # a country code stays in capitals
        ("order basis", "Order basis"),  # a page's own words
        ("30 days", "30 days"),
    ],
)
def test_a_category_value_reads_as_words(value: str, shown: str) -> None:
    """Charts and tables showed the codes: `paid_search`, `geometric_limit`, `bg_nbd`."""
    assert value_words(value) == shown


def test_a_value_that_is_no_text_is_shown_as_it_is() -> None:
    assert value_words(None) is None
    assert math.isnan(value_words(float("nan")))
    assert value_words(3) == 3


def test_a_churn_without_a_cancellation_reads_no_cancellation() -> None:
    """mart_churn's reason_code `none` (silent churn: no cancellation request at all) read
    "None" on the churn-reasons page. It is "No cancellation" in that column; `unspecified`
    (a request without a reason code) keeps its own words."""
    assert value_words("none", "reason_code") == "No cancellation"
    assert value_words("unspecified", "reason_code") == "Unspecified"


def test_a_column_s_own_words_stay_in_that_column() -> None:
    """A shop's customer segment or country may be called `none` (the loader keeps the
    word as text): it reads as its words there, and in a filter, which names no column;
    the words every column shares still apply in a column named."""
    assert value_words("none", "segment") == "None"
    assert value_words("none") == "None"
    assert value_words("bg_nbd", "model") == "BG/NBD"


def test_a_name_reads_with_its_abbreviations_in_capitals() -> None:
    # The dashboard's column labels read WORDS too: "arpa_monthly" read "Arpa monthly".
    assert spoken(["arpa", "monthly"]) == "ARPA monthly"
    assert spoken(["paid", "search", "cac"]) == "Paid search CAC"
