"""Codes in words: how a person reads the category codes the marts hold (`paid_search`,
`geometric_limit`, `renewal_call`) wherever they are shown, in the dashboard's charts,
tables and filters (dashboard/warehouse.py) and in `retention summary`'s lines.

A code reads as its words: underscores as spaces, each word as WORDS writes it, the first
letter in capitals ("Paid search", "NPS trend", "Win-back lapsed"), unless VALUE_WORDS
gives it words of its own. The dashboard's column labels share WORDS (`spoken`), so an
abbreviation is written once. Plain Python: `retention` runs without the dashboard's
packages.
"""

from __future__ import annotations

import re

# Words written otherwise than in a column name or a category code, the one list labels
# and codes share: abbreviations in capitals ("arpa_monthly": "ARPA monthly",
# "paid_search_cac": "Paid search CAC").
WORDS = {
    "aov": "AOV",
    "arpa": "ARPA",
    "arr": "ARR",
    "cac": "CAC",
    "ci": "CI",
    "clv": "CLV",
    "grr": "GRR",
    "id": "ID",
    "ltv": "LTV",
    "mrr": "MRR",
    "nps": "NPS",
    "nrr": "NRR",
    "ok": "OK",
    "winback": "win-back",
}

# Codes with words of their own, used as they are (not capitalised). The key is (column,
# code): a column's own code means what the models' YAML says of that column only (a shop's
# customer segment may be called `none`); a column of None gives the code's words in every
# column, and in a filter, which names no column.
VALUE_WORDS: dict[tuple[str | None, str], str] = {
    # The predictive models, as the pages' prose and docs/predictive.md name them.
    (None, "bg_nbd"): "BG/NBD",
    (None, "gamma_gamma"): "Gamma-Gamma",
    (None, "sbg"): "sBG",
    # mart_churn's reason of a churn without any cancellation request (churn type
    # `silent`: a contract ran out, or purchases stopped; every order-basis churn). It read
    # "None"; "No reason given" would be `unspecified`, a request without a reason code.
    ("reason_code", "none"): "No cancellation",
}


def spoken(words: list[str]) -> str:
    """`words` (a snake_case name split at its underscores) as read: each written as WORDS
    has it, joined by spaces, the first letter in capitals ("Paid search", "NPS trend")."""
    text = " ".join(WORDS.get(word, word) for word in words)
    return text[:1].upper() + text[1:]


def value_words(value, column: str | None = None):
    """How the category code `value` of `column` is shown: VALUE_WORDS' words for it in
    that column or in any, else its words ("paid_search": "Paid search", "nps": "NPS",
    "NL": "NL"); anything but a text (a null, a number) as it is."""
    if not isinstance(value, str) or not value:
        return value
    own = VALUE_WORDS.get((column, value)) if column is not None else None
    return own or VALUE_WORDS.get((None, value)) or spoken(re.split(r"[_ ]", value))
