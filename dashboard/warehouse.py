"""Read-only queries on the published warehouse, shared by every page.

The file is RETENTION_DB_PATH (as for every retention command), opened read-only for each
query and never held open: a build publishes by renaming a new file over it, and the next
query reads the new file. Results are cached per file version (its modification time).
"""

import math
import os
import re
from functools import partial
from pathlib import Path

import altair as alt
import duckdb
import pandas as pd
import streamlit as st

from retention.console import first_line
from retention.words import spoken, value_words

REPO = Path(__file__).resolve().parent.parent
# The longest axis label shown whole, in pixels (Vega's labelLimit).
AXIS_LABEL_LIMIT = 400


# The names a table's header or a chart's legend shows for the marts' columns (and the
# pages' own columns), the one list every page uses (`label`): a column not named here reads
# as its words (`spoken`: abbreviations in capitals as retention/words.py's WORDS writes
# them, the list category codes share: "churned_mrr": "Churned MRR"), "is_" dropped,
# and a window of days at the end spelt out ("eligible_90": "Eligible (90 days)",
# "won_back_within_90": "Won back within 90 days").
LABELS = {
    "mrr_start": "MRR at start",
    "mrr_end": "MRR at end",
    "customers_start": "Customers at start",
    "customers_end": "Customers at end",
    "clv": "Order-basis CLV",
    "contract_clv": "Contract-basis CLV",
    "expected_purchases_365d": "Expected purchases, next 365 days",
    "predicted_clv_365d": "Predicted CLV, next 365 days",
    "ltv_to_cac": "LTV:CAC",
    "p_alive": "P(alive)",
    "recency_weeks": "Recency (weeks)",
    "age_weeks": "Age (weeks)",
    "saves_active_90d": "Saves active after 90 days",
    "won_back_mrr": "Won-back MRR",
    "responses_active": "Responses of active customers",
    "uplift_ci_low": "Uplift, 95 % CI low",
    "uplift_ci_high": "Uplift, 95 % CI high",
}


def _without_window(column: str) -> tuple[str, str | None]:
    """`column` without a window of days at its end, and the window's days (None without
    one): ("won_back_within", "90") of "won_back_within_90", ("saves_active", "90") of
    "saves_active_90d"."""
    found = re.fullmatch(r"(.+)_(\d+)d?", column)
    return (found.group(1), found.group(2)) if found else (column, None)


def label(column: str) -> str:
    """What a table's header, a chart's legend or a tooltip shows for `column` (LABELS)."""
    if column in LABELS:
        return LABELS[column]
    name, window = _without_window(column.removeprefix("is_"))
    words = name.split("_")
    text = spoken(words)
    if window:
        days = f"{window} days"
        text += f" {days}" if words[-1] == "within" else f" ({days})"
    return text


# Category values: the codes a category column holds (`paid_search`, `geometric_limit`,
# `contract`) are shown in words ("Paid search", "Geometric limit", "Contract") on every
# chart (axes, legends, tooltips) and in every table, by one mechanism: the data frame's
# CATEGORY_COLUMNS are rewritten with `value_words` (retention/words.py, which
# `retention summary` prints with too) before they are drawn (`chart`, which also rewrites
# the sort orders and scale domains that name the codes) or shown (`table`). A page's filter
# shows the same words (`format_func=value_words`) and still passes the code to its query.
# The columns, of the marts and of the pages' own frames, whose values are categories.
CATEGORY_COLUMNS = {
    "acquisition_channel",
    "basis",
    "campaign",
    "channel",
    "churn_type",
    "country",
    "fit_status",
    "group",
    "model",
    "nps_class",
    "reason_code",
    "segment",
    "segment_type",
    "segment_value",
    "series",
    "significance",
}
# The columns, of the marts and of the pages' own frames, that count something (customers,
# churn events, requests, responses, cohorts, a customer's repeat purchase days): a table
# and a tooltip show them with their thousands separated (COUNT_FORMAT, `is_count`). A
# column with a window of days at the end of its name is named here without it ("eligible"
# for "eligible_90", "saves_active" for "saves_active_90d"). A list rather than a rule by
# name: the counts' names share no form ("churned", "new", "saves", "promoters",
# "observations"), and a whole number that counts nothing (a month since the cohort, a
# year, a decile, a rank, an NPS score, an id) must not read "2,024". Every whole-number
# column a page shows on the demo is either here or in the test's list of those that
# count nothing (dashboard/tests/test_page_figures.py, NOT_COUNTS): a new one fails the
# test until it is put in one of the two.
COUNT_COLUMNS = {
    "acquired_customers",
    "active_customers",
    "cancellation_requests",
    "churn_events",
    "churned",
    "churned_customers",
    "churned_within",
    "class_responses",
    "cohort_size",
    "cohorts",
    "control_customers",
    "control_retained",
    "customers",
    "customers_end",
    "customers_start",
    "detractors",
    "eligible",
    "eligible_saves",
    "final_offers_made",
    "frequency",
    "new",
    "number",
    "observations",
    "passives",
    "promoters",
    "reactivated",
    "responses",
    "responses_active",
    "retained",
    "saves",
    "saves_active",
    "treatment_customers",
    "treatment_retained",
    "won_back",
    "won_back_within",
}


def is_count(column: str) -> bool:
    """Whether `column` counts something: COUNT_COLUMNS names it, or names it without its
    window of days ("won_back_within_90")."""
    return column in COUNT_COLUMNS or _without_window(column)[0] in COUNT_COLUMNS


def in_words(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the values of its CATEGORY_COLUMNS in words (`value_words`, each
    column's own words for its codes)."""
    shown = {
        c: frame[c].map(partial(value_words, column=c))
        for c in frame.columns
        if c in CATEGORY_COLUMNS
    }
    return frame.assign(**shown) if shown else frame


# Money is shown to the cent with its thousands separated ("1,234.50"), counts as whole
# numbers with their thousands separated ("1,000,000"), and fractions as percentages with
# one decimal unless a page needs more: in tables (`money_columns`, `percent_columns`; a
# count by `table` itself) and tooltips alike (a count's by `chart` itself). MONEY_FORMAT and
# COUNT_FORMAT are written once, in d3-format as Vega reads them (tooltips); a table's
# printf format is the same with a "%" before it ("%,.2f", "%,d": Streamlit's sprintf-js
# reads "," as the thousands separator). An axis or a legend of counts needs no format:
# Vega's default for their ticks ("1,000,000") separates the thousands already.
MONEY_FORMAT = ",.2f"
COUNT_FORMAT = ",d"
PERCENT_DECIMALS = 1
# A negative number has the hyphen-minus "-" on a chart (axes, legends, tooltips) as in a
# table: Vega's default number locale (d3-format's en-US) writes the minus sign U+2212
# ("−1,234.50"), Streamlit's table formats the hyphen, and only Vega's can be told otherwise.
# The rest is d3-format's en-US locale as it is (Vega-Lite requires these four with it).
NUMBER_LOCALE = {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["$", ""],
                 "minus": "-"}  # fmt: skip


# A period on a chart's axis, named as the pages name it ("Jan 2024", "2024 Q2", "2024"),
# and Vega-Lite's time unit of that grain.
PERIOD_FORMATS = {"month": "%b %Y", "quarter": "%Y Q%q", "year": "%Y"}
PERIOD_TIME_UNITS = {"month": "yearmonth", "quarter": "yearquarter", "year": "year"}
# Vega names a year only at its first day: a month axis starting in April read "April, July,
# October, 2022", its first year unnamed. The first label gets its year when it lacks it.
FIRST_LABEL_WITH_YEAR = (
    "datum.index == 0 && indexof(datum.label, timeFormat(datum.value, '%Y')) < 0 "
    "? datum.label + ' ' + timeFormat(datum.value, '%Y') : datum.label"
)


def period_x(field: str, grain: str, title: str | None = None) -> alt.X:
    """A time x axis of periods at `grain` (a line's or a point's): months with Vega's own
    labels, the first naming its year; a tick per quarter or year, named "2024 Q2" or
    "2024" (Vega's ticks fell on months: "April", "July" for quarters, "March", "May" for
    years)."""
    if grain == "month":
        axis = alt.Axis(labelExpr=FIRST_LABEL_WITH_YEAR)
    else:
        interval = {"interval": "month", "step": 3} if grain == "quarter" else "year"
        axis = alt.Axis(format=PERIOD_FORMATS[grain], tickCount=interval)
    return alt.X(f"{field}:T", title=grain if title is None else title, axis=axis)


def period_tooltip(field: str, grain: str, title: str | None = None) -> alt.Tooltip:
    """A tooltip of a period at `grain`, named as its axis names it ("Jan 2024", "2024 Q2",
    "2024") and titled as the axis is (`period_x`: the grain unless `title` is given)."""
    return alt.Tooltip(
        f"{field}:T", title=label(grain if title is None else title), format=PERIOD_FORMATS[grain]
    )


def period_band_x(field: str, grain: str) -> alt.X:
    """An x axis of one band per period at `grain` (bars, side by side), each named "Jan
    2024", "2024 Q2" or "2024" (a quarter's band read "Apr 2024")."""
    return alt.X(
        f"{field}:O",
        timeUnit=PERIOD_TIME_UNITS[grain],
        title=grain,
        axis=alt.Axis(format=PERIOD_FORMATS[grain]),
    )


def db_path() -> Path:
    """RETENTION_DB_PATH, or warehouse.duckdb at the repository root as for `make demo`."""
    return Path(os.environ.get("RETENTION_DB_PATH", REPO / "warehouse.duckdb")).resolve()


def shown_db_path() -> str:
    """The warehouse's file as the sidebar names it: by its path in the checkout when it is
    inside it ("warehouse.duckdb", "target/test/warehouse.duckdb"), whole when it is not
    (a published file elsewhere, which the reader must be able to find). A whole path of a
    file in the checkout named the machine's folders, in the README's picture too."""
    path = db_path()
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


@st.cache_data(show_spinner=False, max_entries=64)
def _query(sql: str, path: str, version: int) -> pd.DataFrame:
    with duckdb.connect(path, read_only=True) as con:
        return con.sql(sql).df()


def query(sql: str) -> pd.DataFrame:
    """The result of `sql` on the published warehouse; stops the page with a clear message
    when there is no warehouse, or the file holds no built warehouse (run `make demo` or
    `retention build` first)."""
    path = db_path()
    if not path.exists():
        st.error(f"No warehouse at {path}: run `make demo` (or `retention build`) first.")
        st.stop()
    try:
        return _query(sql, str(path), path.stat().st_mtime_ns)
    except duckdb.CatalogException as exc:
        st.error(
            f"{path} is not a built warehouse ({first_line(exc)}): run `make demo` "
            "(or `retention build`) first."
        )
        st.stop()


def stop_without_optional_table(mart: str, raw_table: str, what: str) -> None:
    """Stop the page with one warning when `mart` has no row at all because its optional raw
    table never brought one: without it every chart of the page was a "No data for ..." box
    of its own, and nothing said why."""
    if query(f"select count(*) as n from marts.{mart}")["n"].iloc[0] == 0:
        st.warning(
            f"No {what} in this warehouse: the optional table `{raw_table}` was not delivered, "
            f"or none of its rows is valid (see the quarantine), so `{mart}` is empty. Load it "
            "with the next delivery to fill this page."
        )
        st.stop()


def complete_periods(grain: str = "month") -> pd.DataFrame:
    """fct_periods at `grain`, complete periods only (an incomplete period's rates are not
    comparable), oldest first."""
    return query(
        "select * from marts.fct_periods "
        f"where period_grain = '{grain}' and is_complete_period "
        "order by period_start, basis"
    )


def complete_period_starts(grain: str, basis: str) -> pd.Series:
    """The first days of the basis' complete periods at `grain`, oldest first: every such
    period, also one a mart has no row for (mart_churn skips a month without churn)."""
    periods = complete_periods(grain)
    return periods.loc[periods["basis"] == basis, "period_start"]


def _field(tip: alt.Tooltip) -> str | None:
    """The field a tooltip or a channel shows ("saved_mrr" of "sum(saved_mrr):Q"); None for
    "count()" or a constant (`alt.datum(3)`). (An Altair object's attributes are its
    setters: its values are read as items.)"""
    if tip["field"] is not alt.Undefined:
        return tip["field"]
    shorthand = tip["shorthand"]
    return alt.utils.parse_shorthand(shorthand).get("field") if isinstance(shorthand, str) else None


def _counts_a_whole(tip: alt.Tooltip) -> bool:
    """Whether the tooltip `tip` shows a whole count: the rows counted ("count()"), or a
    count column (`is_count`) as it is or summed (its mean is no whole number)."""
    shorthand = tip["shorthand"]
    parsed = alt.utils.parse_shorthand(shorthand) if isinstance(shorthand, str) else {}
    aggregate = tip["aggregate"]
    if aggregate is alt.Undefined:
        aggregate = parsed.get("aggregate")
    if aggregate == "count":
        return True
    field = _field(tip)
    return field is not None and is_count(field) and aggregate in (None, "sum")


def _parts(spec: alt.TopLevelMixin):
    """`spec` and its layers (and theirs), each before its layers: what the rewrites of
    `chart` walk."""
    yield spec
    if isinstance(spec, alt.LayerChart):
        for layer in spec.layer:
            yield from _parts(layer)


def _unit_encodings(spec: alt.TopLevelMixin):
    """Every encoding of `spec`: its own, and those of its layers (and theirs)."""
    return (part["encoding"] for part in _parts(spec) if part["encoding"] is not alt.Undefined)


def _tooltips_as_tables(spec: alt.TopLevelMixin) -> None:
    """Title every tooltip of `spec` (and of its layers) that has no title of its own with
    its field's label (`label`: "Saved MRR", not `saved_mrr`), give a count's tooltip
    without a format of its own COUNT_FORMAT ("1,000,000", as `table` shows it), and give a
    mark without a tooltip none: Streamlit's theme shows every field of such a mark (a
    rule, an interval, a note) under its name. `spec` is changed in place."""
    for part in _parts(spec):
        encoding = part["encoding"]
        if isinstance(part, alt.LayerChart) or encoding is alt.Undefined:
            continue  # a layer chart's marks are its layers'
        tips = encoding["tooltip"]
        if tips is alt.Undefined:
            encoding["tooltip"] = alt.TooltipValue(None)
            continue
        for tip in tips if isinstance(tips, list) else [tips]:
            if not isinstance(tip, alt.Tooltip):
                continue
            if tip["title"] is alt.Undefined and _field(tip):
                tip["title"] = label(_field(tip))
            if tip["format"] is alt.Undefined and _counts_a_whole(tip):
                tip["format"] = COUNT_FORMAT


# The channels whose sort order or scale domain can name category values.
CATEGORY_CHANNELS = ("x", "y", "color", "xOffset", "yOffset", "strokeDash", "shape")


def _categories_in_words(spec: alt.TopLevelMixin) -> None:
    """Show the category values of `spec` (and of its layers) in words: its data's
    CATEGORY_COLUMNS (`in_words`), and the sort order and scale domain of each channel that
    encodes one, which a page writes with the codes (`sort=["order", "contract"]`). `spec`
    is changed in place."""
    for part in _parts(spec):
        if isinstance(part["data"], pd.DataFrame):
            part["data"] = in_words(part["data"])
    for encoding in _unit_encodings(spec):
        for name in CATEGORY_CHANNELS:
            channel = encoding[name]
            if not isinstance(channel, alt.FieldChannelMixin):
                continue  # none, or a constant (`alt.value`)
            field = _field(channel)
            if field not in CATEGORY_COLUMNS:
                continue
            if isinstance(channel["sort"], list):
                channel["sort"] = [value_words(v, field) for v in channel["sort"]]
            scale = channel["scale"]
            if isinstance(scale, alt.Scale) and isinstance(scale["domain"], list):
                scale["domain"] = [value_words(v, field) for v in scale["domain"]]


# The channels a chart draws with an axis or a legend, whose title reads as a table's header.
# x2 and y2 (an interval's end) share their axis with x and y: Vega-Lite joins the titles of
# both ("From, To"), so the end keeps none of its own and only its own lowercase title is
# rewritten.
TITLED_CHANNELS = ("x", "y", "color", "fill", "stroke", "size", "shape", "strokeDash", "opacity")
END_CHANNELS = ("x2", "y2")


def title_words(title: str) -> str:
    """A title a page wrote in lowercase as a table's header reads: its words as WORDS
    writes them, the first letter in capitals ("active customers": "Active customers",
    "won back within 90 days": "Won back within 90 days")."""
    return spoken(title.split(" "))


def _titles_as_tables(spec: alt.TopLevelMixin) -> None:
    """Title every axis and legend of `spec` as a table's header: a channel without a title
    with its field's label (`label`: "Basis", not Vega-Lite's default, the field's name
    `basis`), a title starting with a small letter in its words (`title_words`: "active
    customers" as "Active customers"); a title that starts with a capital or anything else
    ("P(alive)", "MRR (EUR)") and none at all (`title=None`) are kept. A layer gets no title
    of its own for a channel that another layer titles: Vega-Lite shows the given one (the
    programme uplift's axis, not "Uplift" of its point layer). `spec` is changed in place."""
    encodings = list(_unit_encodings(spec))
    given = {
        name
        for encoding in encodings
        for name in TITLED_CHANNELS
        if isinstance(encoding[name], alt.FieldChannelMixin)
        and encoding[name]["title"] is not alt.Undefined
    }
    for encoding in encodings:
        for name in TITLED_CHANNELS + END_CHANNELS:
            channel = encoding[name]
            if not isinstance(channel, alt.FieldChannelMixin):
                continue  # none, or a constant (`alt.datum(3)`, `alt.value(0)`)
            if _in_lowercase(channel["title"]):
                channel["title"] = title_words(channel["title"])
            if name in END_CHANNELS:
                continue  # no axis of its own
            # The axis or legend: None when the page draws none, which needs no title.
            guide = channel["axis" if name in ("x", "y") else "legend"]
            field = _field(channel)
            drawn = guide is not None
            if channel["title"] is alt.Undefined and name not in given and field and drawn:
                channel["title"] = label(field)
            if isinstance(guide, alt.SchemaBase) and _in_lowercase(guide["title"]):
                guide["title"] = title_words(guide["title"])  # alt.Axis(title=...) is shown


def _in_lowercase(title) -> bool:
    """Whether `title` is a text starting with a small letter ("churn type")."""
    return isinstance(title, str) and title[:1].islower()


def chart(spec: alt.TopLevelMixin, what: str) -> None:
    """Show an Altair chart drawn as SVG (the browser test counts its marks), its category
    values in words (`_categories_in_words`), its axes and legends titled as table headers
    (`_titles_as_tables`), its tooltips titled with labels and its counts' thousands
    separated (`_tooltips_as_tables`), its negative numbers with the tables' minus
    (NUMBER_LOCALE), or a warning naming the chart when it has no rows."""
    data = spec.data if isinstance(spec.data, pd.DataFrame) else None
    if data is not None and data.empty:
        st.warning(f"No data for {what}.")
        return
    spec = spec.copy(deep=True)
    _categories_in_words(spec)
    _titles_as_tables(spec)
    _tooltips_as_tables(spec)
    # Streamlit's theme cuts an axis label at 100 px ("competitor_bette…"): a reason code or
    # campaign name is read whole.
    spec = (
        spec.properties(usermeta={"embedOptions": {"renderer": "svg"}})
        .configure(locale=alt.Locale(number=alt.NumberLocale(**NUMBER_LOCALE)))
        .configure_axis(labelLimit=AXIS_LABEL_LIMIT)
    )
    st.altair_chart(spec, width="stretch")


def reporting_param(column: str):
    """A value the build recorded in int_reporting_params (`as_of_date`: the reporting date
    A; `reporting_currency`), or None where there is none: no file, no built warehouse, or
    one built before the column was recorded. Never stops the page."""
    path = db_path()
    sql = f"select {column} from intermediate.int_reporting_params"
    try:
        found = _query(sql, str(path), path.stat().st_mtime_ns)[column]
    except (OSError, duckdb.Error):  # no file, or no such table or column
        return None
    return found.iloc[0] if len(found) and pd.notna(found.iloc[0]) else None


def days(n) -> str:
    """A number of days as read: "1 day", "180 days"."""
    return f"{n} day" if n == 1 else f"{n} days"


def order_activity_rule() -> str:
    """What keeps a customer active on the order basis, with the var order_inactivity_days
    the build recorded (int_reporting_params); its default, said as such, for a warehouse
    built before the var was recorded."""
    recorded = reporting_param("order_inactivity_days")
    if recorded is None:
        return (
            "a customer is active for a while after each purchase (365 days by default: "
            "the var `order_inactivity_days`)"
        )
    return f"a purchase keeps a customer active for {days(recorded)} (`order_inactivity_days`)"


def contract_grace_rule() -> str:
    """Which gap between contracts the contract basis bridges, with the var
    contract_grace_days the build recorded (int_reporting_params); its default, said as
    such, for a warehouse built before the var was recorded."""
    recorded = reporting_param("contract_grace_days")
    if recorded is None:
        return (
            "a gap between contracts of up to 30 days by default is bridged (the var "
            "`contract_grace_days`)"
        )
    if recorded == 0:
        return "no gap between contracts is bridged (`contract_grace_days` is 0)"
    return f"a gap between contracts of up to {days(recorded)} is bridged (`contract_grace_days`)"


def money(text: str) -> str:
    """`text` with the currency of the marts' money, as the build recorded it
    (int_reporting_params.reporting_currency): "MRR (EUR)"; `text` alone for a warehouse
    built before the currency was recorded."""
    currency = reporting_param("reporting_currency")
    return text if currency is None else f"{text} ({currency})"


def money_columns(*columns: str) -> dict:
    """`column_config` for a table's money columns: each headed with its label and the
    reporting currency ("Churned MRR (EUR)", as `money`) and shown as tooltips show it
    (MONEY_FORMAT: "1,234.50")."""
    return {
        c: st.column_config.NumberColumn(money(label(c)), format=f"%{MONEY_FORMAT}")
        for c in columns
    }


def money_tooltip(field: str, title: str | None = None) -> alt.Tooltip:
    """A tooltip of money, titled as a table's money column is headed (`money_columns`:
    "Saved MRR (EUR)", or `title` with the currency) and shown as the table shows it
    (MONEY_FORMAT: "1,234.50")."""
    return alt.Tooltip(f"{field}:Q", title=money(title or label(field)), format=MONEY_FORMAT)


def percent_columns(*columns: str, decimals: int = PERCENT_DECIMALS) -> dict:
    """`column_config` for a table's columns of fractions, shown as percentages with
    `decimals` decimals each (`table` rounds them). Streamlit's "percent" alone shows up to
    two decimals and drops trailing zeros (0.7% above 0.79%); with a `step` it shows the
    step's decimals, its values cut (not rounded) to the step."""
    step = 10 ** -(decimals + 2)
    return {c: st.column_config.NumberColumn(format="percent", step=step) for c in columns}


def percent_tooltip(field: str, decimals: int = PERCENT_DECIMALS) -> alt.Tooltip:
    """A tooltip of a fraction, titled with its label and shown as a percentage with
    `decimals` decimals (those of the page's table, `percent_columns`)."""
    return alt.Tooltip(f"{field}:Q", title=label(field), format=f".{decimals}%")


def dates_shown_as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with each timestamp column whose values all fall at midnight (DuckDB's dates
    reach pandas as timestamps) as dates, so a table shows 2024-06-01, not 2024-06-01
    00:00:00."""
    dated = {
        column: values.dt.date
        for column, values in frame.items()
        if pd.api.types.is_datetime64_any_dtype(values)
        and (values.dropna() == values.dropna().dt.normalize()).all()
    }
    return frame.assign(**dated) if dated else frame


# A table of at most this many rows is shown whole; a longer one scrolls inside a box of
# ten rows (Streamlit's default), which hid the 11th to 20th rows of a "top 20".
WHOLE_TABLE_ROWS = 25


def _rounded(value, places: int):
    """`value` rounded to `places` decimals as Python rounds, from the float's exact value
    (NumPy's round scales and rounds half to even: 0.0125 to 0.012, where the float is just
    above 0.0125); null stays null."""
    return value if pd.isna(value) else round(float(value), places)


def table(frame: pd.DataFrame, column_config: dict | None = None) -> None:
    """Show `frame` as a table without its index: each column headed with its label
    (`label`, unless `column_config` gives one) and its name in the header's help, category
    values in words (`in_words`), dates as dates (`dates_shown_as_dates`), each count
    (`is_count`) with its thousands separated unless `column_config` formats it (COUNT_FORMAT:
    "1,000,000"), each percent column (`percent_columns`) rounded to its decimals, every row
    in view when it has at most WHOLE_TABLE_ROWS."""
    config = {}
    shown = dates_shown_as_dates(in_words(frame))
    for column in frame.columns:
        given = dict((column_config or {}).get(column) or {})
        given["label"] = given.get("label") or label(column)
        given["help"] = given.get("help") or f"Column `{column}`"
        number = given.get("type_config") or {}
        if is_count(column) and not number.get("format"):
            given["type_config"] = {**number, "type": "number", "format": f"%{COUNT_FORMAT}"}
        config[column] = given
        if number.get("format") == "percent" and number.get("step"):
            # Rounded here: Streamlit cuts a value to the step's decimals (0.0079 to 0.7%).
            places = round(-math.log10(number["step"]))
            shown = shown.assign(**{column: shown[column].map(partial(_rounded, places=places))})
    height = "content" if len(frame) <= WHOLE_TABLE_ROWS else "auto"
    st.dataframe(shown, hide_index=True, height=height, column_config=config)


def complete_period_rows(mart: str, grain: str, basis: str) -> pd.DataFrame:
    """The rows of `mart` (basis, period_grain and period_start columns) of `basis` at
    `grain` whose period is complete in fct_periods on that basis, oldest first."""
    return query(
        f"select m.* from marts.{mart} m "
        f"join (select * from marts.fct_periods where basis = '{basis}') p "
        "on p.period_grain = m.period_grain and p.period_start = m.period_start "
        f"where m.period_grain = '{grain}' and m.basis = '{basis}' "
        "and p.is_complete_period "
        "order by m.period_start"
    )


def complete_period_rows_of_either_basis(mart: str, grain: str) -> pd.DataFrame:
    """The rows of a mart without a basis column (period_grain and period_start columns:
    saves, NPS) at `grain` whose period is complete, oldest first: as fct_periods says on
    either basis (a period is complete on both or on neither, and a shop without contracts
    has only the order basis). A period fct_periods has no row for (NPS responses older than
    any purchase or contract; any response of a shop without purchases or contracts, whose
    fct_periods is empty) is complete when it ended on or before A, as fct_periods'
    is_complete_period would say: its start is before the start of the period holding the
    day after A."""
    return query(
        f"select m.* from marts.{mart} m "
        "left join (select distinct period_grain, period_start, is_complete_period "
        "from marts.fct_periods) p "
        "on p.period_grain = m.period_grain and p.period_start = m.period_start "
        "cross join intermediate.int_reporting_params a "
        f"where m.period_grain = '{grain}' and coalesce(p.is_complete_period, "
        f"m.period_start < date_trunc('{grain}', a.as_of_date + 1)) "
        "order by m.period_start"
    )


def by_reason_chart(data: pd.DataFrame, x: alt.X, tooltip: list, what: str) -> None:
    """Horizontal bars per cancellation reason, longest first, coloured by churn type."""
    chart(
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("reason_code:N", sort="-x", title=None),
            x=x,
            color=alt.Color("churn_type:N", title="churn type"),
            tooltip=tooltip,
        ),
        what,
    )
