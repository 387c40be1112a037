"""The lists that Python and dbt both hold agree, so that neither can drift from the other.

- The raw input contract: `retention/contract.py` (what `load` enforces and `generate`
  writes) and the dbt sources (`models/staging/shop/_shop__sources.yml`, the list the SQL
  loops over through macros/raw_tables.sql): the same tables in the same order, the same
  required and optional columns, the same keys and flags; and the names dbt needs while
  parsing (`raw_table_names_for_parsing()` in macros/raw_tables.sql, kept by hand because
  the YAML is not read yet then) are the YAML's, so that a forgotten name fails here and
  not only when a build runs. The table of the contract in docs/loading.md ("Raw input
  contract"), the one a user delivering files reads, has a row per table with its required
  and optional columns.
- The marts: `retention/marts.py` (what `validate`, `publish` and `summary` check) and the
  marts' YAML contracts under `models/marts/`: the same marts, the same columns in the same
  order, the same keys.
- The macros: every macro of macros/*.sql and every generic test of tests/generic/*.sql
  (dbt's macro `test_<name>`) has one entry in macros/_macros.yml and every entry names
  one of them. Where a macro's body opens with a comment, its _macros.yml description is
  that comment word for word (whitespace aside); an adapter's implementation
  (`<adapter>__<macro>`) may put a sentence naming what it implements before it. Those
  comments are what "in sync" can check: a macro documented by a comment above it, or by
  none, is checked for its entry only.
  The glossary's "Engine-specific SQL" row names every macro file that dispatches per
  engine (`adapter.dispatch`).
- The README's map of the layers ("Layers"): each folder of `models/intermediate/` and
  `models/marts/` in it, under its layer, with every model of the folder, so that the map a
  newcomer reads first names where each model lives.
- The marts and docs/marts.md, the BI users' map: a section per mart (`## <mart> — …`)
  naming each of its columns; and a row per mart in the README's tables of marts ("Point BI
  at it"). The "Contents" of README.md and every other page of docs/ that has one link
  every `##` section, in order, by its anchor; docs/decisions.md's, a record kept in the
  order it was written, links every section once, under a topic.
- The dashboard's pages (`dashboard/registry.py`) and the dbt exposures
  (`models/marts/_marts__exposures.yml`): one exposure per page, at the page's address,
  depending on exactly the models the page's code reads, so that lineage shows every page
  a change to a mart touches and no page it does not.
  Each exposure names the saved queries (`_marts__semantic.yml`) that give its page's
  figures as metrics, and every saved query and analysis it names exists. The table of
  pages in docs/dashboard.md names, for each page, the models its exposure depends on.
- The names the docs give (README.md, the pages of docs/ but the two records, decisions.md
  and performance-history.md, and the models' `_<folder>__docs.md`): every file or folder
  of the repository named in backticks exists (placeholders such as `<table>` match any
  name), and so does every `make` target and every macro named as one, so that a rename
  cannot leave the docs pointing at nothing. The README's "Further documentation" lists
  every page of docs/, and every relative link of README.md and docs/ leads to a file
  and, for an `#anchor` into a markdown page, to a heading of it: what a move breaks.
- Every singular test (tests/*.sql) is named in python_checks/test_data_tests_fail.py,
  which breaks a row for it and expects the rows the test returns.

Reads YAML, SQL and markdown text only (no dbt run): fast.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re

import pytest
from project_yaml import MARTS_DIR, REPO_ROOT, mart_models, read_yaml

from retention import contract, marts

SOURCES_YML = REPO_ROOT / "models" / "staging" / "shop" / "_shop__sources.yml"
MACROS_DIR = REPO_ROOT / "macros"
GENERIC_TESTS_DIR = REPO_ROOT / "tests" / "generic"
# `{% macro name(...) %}` (or `{% test name(...) %}`) and the comment opening its body.
MACRO_TAG = re.compile(r"{%-?\s*(macro|test)\s+(\w+)\s*\(.*?\)\s*-?%}\s*(?:{#-?(.*?)-?#})?", re.S)
# The marts with a set of columns per repeat_windows_days entry W: <prefix>_W.
WINDOW_COLUMNS = {
    "mart_repeat_purchase": ("eligible", "repeat_within", "repeat_rate"),
    "mart_winback": ("eligible", "won_back_within", "winback_rate"),
}
# Columns of every raw table that no file needs: the loader stamps or sets them.
LOADER_COLUMNS = (contract.LOADED_AT, contract.LOAD_ID)


def _differ(found: list, expected: list, found_in: str, expected_in: str) -> str:
    """What a failed comparison of two lists of names says: the names one place holds and
    the other lacks, both places named, or, when both hold the same names, each one's order."""
    only_found = [name for name in found if name not in expected]
    only_expected = [name for name in expected if name not in found]
    if not only_found and not only_expected:
        return f"the same names in another order: {found_in} {found}, {expected_in} {expected}"
    return "; ".join(
        f"in {place}, not in {other}: {names}"
        for place, other, names in (
            (found_in, expected_in, only_found),
            (expected_in, found_in, only_expected),
        )
        if names
    )


def _source_tables() -> dict[str, dict]:
    (shop,) = [s for s in read_yaml(SOURCES_YML)["sources"] if s["name"] == "shop"]
    return {table["name"]: table for table in shop["tables"]}


def _default_repeat_windows() -> list[int]:
    return read_yaml(REPO_ROOT / "dbt_project.yml")["vars"]["repeat_windows_days"]


def test_the_raw_tables_are_the_same_in_the_same_order():
    sources, tables = list(_source_tables()), list(contract.TABLES)
    assert sources == tables, _differ(
        sources, tables, "models/staging/shop/_shop__sources.yml", "retention/contract.py TABLES"
    )


def test_the_raw_table_names_for_parsing_are_the_sources_yamls():
    text = (MACROS_DIR / "raw_tables.sql").read_text(encoding="utf-8")
    body = text.split("macro raw_table_names_for_parsing()", 1)[1]
    names = ast.literal_eval(re.search(r"return\((\[.*?\])\)", body, re.S).group(1))
    assert sorted(names) == sorted(_source_tables()), (
        "add or remove the name in raw_table_names_for_parsing() (macros/raw_tables.sql)"
    )


@pytest.mark.parametrize("name", list(contract.TABLES))
def test_a_raw_tables_columns_key_and_flags_agree_with_the_sources_yaml(name):
    table = contract.TABLES[name]
    source = _source_tables()[name]
    columns = [c["name"] for c in source["columns"]]
    optional = [c["name"] for c in source["columns"] if (c.get("meta") or {}).get("optional")]
    required = [c for c in columns if c not in optional and c not in LOADER_COLUMNS]
    meta = source["config"]["meta"]

    yaml, python = "the sources YAML", f"retention/contract.py TABLES[{name!r}]"
    assert set(columns) == set(table.raw_columns), _differ(
        columns, list(table.raw_columns), f"{yaml} (with _loaded_at and _load_id)", python
    )
    assert required == list(table.required), _differ(
        required, list(table.required), f"{yaml}'s required columns", f"{python}.required"
    )
    assert optional == list(table.optional), _differ(
        optional, list(table.optional), f"{yaml}'s columns with meta optional", f"{python}.optional"
    )
    assert meta["key"] == list(table.key), (
        f"{name}: key {meta['key']} in {yaml}, {list(table.key)} in {python}"
    )
    assert set(table.key) <= set(table.required), "a key column is required in every file"
    assert meta["core"] is table.is_core, f"{name}: meta core in {yaml}, is_core in {python}"
    assert meta["optional_table"] is table.is_optional_table, (
        f"{name}: meta optional_table in {yaml}, is_optional_table in {python}"
    )


@pytest.mark.parametrize("name", list(contract.TABLES))
def test_a_raw_tables_typed_columns_are_those_its_base_model_parses(name):
    # The loader reads NA, N/A and None in a CSV as nulls in these columns only: a column
    # parsed in staging but not listed would keep them as text (quarantined as invalid), one
    # listed but staged as text would lose a country code NA.
    path = SOURCES_YML.parent / "base" / f"base_shop__{name}.sql"
    assert path.is_file(), (
        f"no base model {path.relative_to(REPO_ROOT)}: every raw table has one (README "
        '"Contributing", "Add a raw source table", step 4)'
    )
    parsed = re.findall(r"\['(\w+)', parse_\w+\('source\.\1'\)\]", path.read_text("utf-8"))
    assert parsed, "the base model's parsed_columns were not found"
    assert sorted(parsed) == sorted(contract.TABLES[name].typed), _differ(
        sorted(parsed),
        sorted(contract.TABLES[name].typed),
        f"parse_* columns of {path.name}",
        f"retention/contract.py TABLES[{name!r}].typed",
    )


def _contract_table_rows() -> dict[str, list[str]]:
    """docs/loading.md's "Raw input contract" table: table -> its three cells."""
    loading = (REPO_ROOT / "docs" / "loading.md").read_text(encoding="utf-8")
    section = loading.split("\n## Raw input contract\n", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            rows[re.match(r"`(\w+)`", cells[0]).group(1)] = cells
    return rows


def test_the_docs_contract_table_has_every_raw_table_and_column():
    rows = _contract_table_rows()
    assert len(rows) > 5  # the table is found (guards against a silent miss)
    assert list(rows) == list(contract.TABLES), _differ(
        list(rows),
        list(contract.TABLES),
        'docs/loading.md "Raw input contract"',
        "retention/contract.py",
    )
    for name, table in contract.TABLES.items():
        label, required, optional = rows[name]
        assert ("(optional table)" in label) is table.is_optional_table, name
        assert re.findall(r"`(\w+)`", required) == list(table.required), name
        named = re.findall(r"`(\w+)`", optional)
        assert [c for c in named if c in table.columns] == list(table.optional), name


ALL_COLUMNS = {**marts.COLUMNS, **marts.PREDICTIVE_COLUMNS}
ALL_KEYS = {**marts.KEYS, **marts.PREDICTIVE_KEYS}


def test_the_marts_are_the_same():
    in_yaml, in_python = sorted(mart_models()), sorted({*marts.MARTS, *marts.PREDICTIVE_MARTS})
    assert in_yaml == in_python, _differ(
        in_yaml,
        in_python,
        "the marts' YAML (models/marts/)",
        "retention/marts.py (COLUMNS, KEYS; PREDICTIVE_COLUMNS, PREDICTIVE_KEYS)",
    )
    assert not set(marts.MARTS) & set(marts.PREDICTIVE_MARTS)


@pytest.mark.parametrize("name", list(ALL_COLUMNS))
def test_a_marts_columns_agree_with_its_yaml_contract(name):
    model = mart_models()[name]
    columns = [c["name"] for c in model["columns"]]
    if name in WINDOW_COLUMNS:
        # The contract also lists the window columns of the default repeat_windows_days
        # (another list of windows gives other columns: its contract is then not enforced).
        windows = [
            f"{prefix}_{days}"
            for days in _default_repeat_windows()
            for prefix in WINDOW_COLUMNS[name]
        ]
        assert columns[-len(windows) :] == windows
        columns = columns[: -len(windows)]

    assert model["config"]["contract"] == {"enforced": True}, (
        f"{name}: its YAML needs config: {{contract: {{enforced: true}}}}"
    )
    assert columns == ALL_COLUMNS[name], _differ(
        columns, ALL_COLUMNS[name], f"{name}'s YAML", f"retention/marts.py COLUMNS[{name!r}]"
    )
    assert all(c.get("data_type") for c in model["columns"]), "a contract names every type"


@pytest.mark.parametrize("name", list(ALL_KEYS))
def test_a_marts_key_is_the_one_its_yaml_tests_as_unique(name):
    model = mart_models()[name]
    # The key tests: a grain test, a primary_key test (no nulls either) on the model or on a
    # column, or a unique test on a column.
    keys = [
        test[name]["arguments"][argument]
        for test in model.get("data_tests") or []
        for name, argument in (
            ("unique_combination_of_columns", "combination_of_columns"),
            ("primary_key", "columns"),
        )
        if isinstance(test, dict) and name in test
    ] + [
        [column["name"]]
        for column in model["columns"]
        if any(test in ("unique", "primary_key") for test in column.get("data_tests") or [])
    ]
    # A mart whose key follows from other tests (fct_customer_months: the fact's) declares it
    # in its meta instead, and has no unique test of its own.
    declared = (model.get("config") or {}).get("meta", {}).get("key")
    assert keys == ([] if declared else [ALL_KEYS[name]]), (
        f"{name}: the key tests of its YAML (primary_key, unique_combination_of_columns) "
        f"test {keys}; retention/marts.py KEYS has {ALL_KEYS[name]}: one key test, on it"
    )
    assert declared in (None, ALL_KEYS[name])


def _words(text: str) -> str:
    return " ".join(text.split())


def _macros_in_sql() -> dict[str, str | None]:
    """Every macro and generic test by the name dbt gives it: the comment opening its body."""
    found: dict[str, str | None] = {}
    for path in sorted(MACROS_DIR.glob("*.sql")) + sorted(GENERIC_TESTS_DIR.glob("*.sql")):
        for kind, name, comment in MACRO_TAG.findall(path.read_text()):
            name = f"test_{name}" if kind == "test" else name
            assert name not in found, f"{name} defined twice ({path.name})"
            found[name] = _words(comment) or None
    return found


def _macros_in_yaml() -> dict[str, str]:
    entries = read_yaml(MACROS_DIR / "_macros.yml")["macros"]
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names)), "a macro is described twice in _macros.yml"
    return {entry["name"]: _words(entry.get("description") or "") for entry in entries}


def test_every_macro_has_one_macros_yml_entry_and_every_entry_a_macro():
    in_sql, in_yaml = set(_macros_in_sql()), set(_macros_in_yaml())
    assert len(in_sql) > 100  # the pattern finds the macros (guards against a silent miss)
    assert not in_sql - in_yaml, f"macros without a _macros.yml entry: {sorted(in_sql - in_yaml)}"
    assert not in_yaml - in_sql, f"_macros.yml entries of no macro: {sorted(in_yaml - in_sql)}"


def test_a_macros_yml_description_repeats_the_comment_opening_the_macro():
    described = _macros_in_yaml()
    stale = [
        f"{name}:\n    sql:  {comment}\n    yaml: {described[name]}"
        for name, comment in _macros_in_sql().items()
        if comment is not None
        and name in described
        and not (
            described[name] == comment or ("__" in name and described[name].endswith(" " + comment))
        )
    ]
    assert not stale, "_macros.yml no longer repeats the macro's comment:\n" + "\n".join(stale)


def _layers_map() -> dict[str, dict[str, str]]:
    """The README's "Layers" map: for the intermediate and the marts layer, each domain
    folder's entry (the text from its `<folder>/` to the next folder)."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    intermediate, marts_part = block.split("└─ intermediate/", 1)[1].split("└─ marts/", 1)
    layers = {}
    for layer, text in (("intermediate", intermediate), ("marts", marts_part)):
        parts = re.split(r"^ +(\w+)/ ", text, flags=re.M)
        layers[layer] = dict(zip(parts[1::2], parts[2::2], strict=True))
    return layers


@pytest.mark.parametrize("layer", ["intermediate", "marts"])
def test_the_readmes_layers_map_names_every_model_in_its_folder(layer):
    in_map = _layers_map()[layer]
    folders = sorted(p for p in (REPO_ROOT / "models" / layer).iterdir() if p.is_dir())
    assert len(folders) >= 4  # the domain folders are found (guards against a silent miss)
    assert sorted(in_map) == [p.name for p in folders]
    missing = [
        f"{folder.name}/{model.stem}"
        for folder in folders
        for model in sorted(folder.glob("*.*"))
        if model.suffix in (".sql", ".py")
        and not re.search(rf"\b{model.stem}\b", in_map[folder.name])
    ]
    assert not missing, f'models missing from README "Layers" under their folder: {missing}'


def _dashboard_pages() -> list:
    spec = importlib.util.spec_from_file_location(
        "registry", REPO_ROOT / "dashboard" / "registry.py"
    )
    registry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(registry)
    return registry.PAGES


def test_every_dashboard_page_is_one_exposure_at_its_address():
    pages = _dashboard_pages()
    exposures = read_yaml(REPO_ROOT / "models" / "marts" / "_marts__exposures.yml")["exposures"]
    urls = [exposure["url"] for exposure in exposures]
    assert len(pages) >= 10  # the pages are found (guards against a silent miss)
    assert sorted(urls) == sorted(f"http://127.0.0.1:8501/{page.url_path}" for page in pages)
    assert all(exposure["depends_on"] for exposure in exposures)


def _marts_named(source: str, mart_names: set[str]) -> set[str]:
    """The models a piece of dashboard code reads: `<schema>.<name>` in its SQL (the marts,
    and an intermediate model a page segments by), and a mart's name given as a string to a
    helper (complete_period_rows("mart_churn", ...))."""
    named = set(re.findall(r"\b(?:marts|intermediate|staging)\.(\w+)", source))
    named |= {name for name in re.findall(r"[\"'](\w+)[\"']", source) if name in mart_names}
    return named


def test_every_exposure_depends_on_exactly_the_marts_its_page_reads():
    # Read from the page's code: its own SQL and that of the helpers in warehouse.py it
    # calls (directly or through another helper), so lineage (`+exposure:...`) names what a
    # change really reaches.
    dashboard = REPO_ROOT / "dashboard"
    mart_names = set(marts.COLUMNS) | set(marts.PREDICTIVE_COLUMNS)
    helpers = {
        match.group(1): match.group(0)
        for match in re.finditer(
            r"^def (\w+)\(.*?(?=^def |\Z)",
            (dashboard / "warehouse.py").read_text(encoding="utf-8"),
            flags=re.M | re.S,
        )
    }
    assert {"query", "complete_periods", "complete_period_rows"} <= set(helpers)
    exposures = read_yaml(REPO_ROOT / "models" / "marts" / "_marts__exposures.yml")["exposures"]
    by_url = {exposure["url"]: exposure for exposure in exposures}
    wrong = {}
    for page in _dashboard_pages():
        code = (dashboard / "views" / page.script).read_text(encoding="utf-8")
        reads = _marts_named(code, mart_names)
        called, texts = set(), [code]  # and the helpers those helpers call
        while texts:
            text = texts.pop()
            for name, body in helpers.items():
                if name not in called and re.search(rf"\b{name}\(", text):
                    called.add(name)
                    texts.append(body)
                    reads |= _marts_named(body, mart_names)
        exposure = by_url[f"http://127.0.0.1:8501/{page.url_path}"]
        declared = {re.fullmatch(r"ref\('(\w+)'\)", r).group(1) for r in exposure["depends_on"]}
        if declared != reads:
            wrong[exposure["name"]] = {"declared": sorted(declared), "page reads": sorted(reads)}
    assert not wrong, wrong


def test_the_dashboard_docs_table_names_the_models_each_page_reads():
    # The table of pages (docs/dashboard.md, column "from"; then in the README) left out
    # int_reporting_params on four pages that label money with the recorded currency: its
    # exposure, checked against the page's code above, named it. `meta.*` tables are not
    # models and not exposures' dependencies: the table may name them beside.
    section = (REPO_ROOT / "docs" / "dashboard.md").read_text(encoding="utf-8")
    rows = {
        cells[0]: cells[-1]
        for line in section.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split(" | ")])
    }
    exposures = read_yaml(REPO_ROOT / "models" / "marts" / "_marts__exposures.yml")["exposures"]
    by_url = {exposure["url"]: exposure for exposure in exposures}
    pages = _dashboard_pages()
    assert len(pages) >= 10  # the pages are found (guards against a silent miss)
    wrong = {}
    for page in pages:
        assert page.title in rows, f"docs/dashboard.md: no row for the page {page.title}"
        named = set(re.findall(r"`(\w+)`", rows[page.title]))
        exposure = by_url[f"http://127.0.0.1:8501/{page.url_path}"]
        declared = {re.fullmatch(r"ref\('(\w+)'\)", r).group(1) for r in exposure["depends_on"]}
        if named != declared:
            wrong[page.title] = {"docs": sorted(named), "exposure": sorted(declared)}
    assert not wrong, wrong


def test_every_exposure_names_the_saved_queries_of_its_page():
    # The overview's exposure named no saved query, though monthly_churn_trend and
    # mrr_waterfall hold its figures; win-back, NPS and predictive CLV named none of theirs.
    semantic = read_yaml(MARTS_DIR / "_marts__semantic.yml")
    saved = {query["name"] for query in semantic["saved_queries"]}
    exposures = read_yaml(MARTS_DIR / "_marts__exposures.yml")["exposures"]
    wrong = {}
    for exposure in exposures:
        text = " ".join(exposure["description"].split())
        named = set()
        for names in re.findall(r"saved quer(?:y|ies) (\w+(?:(?:, | and )\w+)*)", text):
            named |= set(re.split(r", | and ", names))
        analyses = set(re.findall(r"analyses/(\w+)\.sql", text))
        missing = sorted(named - saved) + sorted(
            f"analyses/{name}.sql"
            for name in analyses
            if not (REPO_ROOT / "analyses" / f"{name}.sql").exists()
        )
        if not named or missing:
            wrong[exposure["name"]] = {"saved queries named": sorted(named), "missing": missing}
    assert len(exposures) >= 10 and len(saved) > 10  # both lists are found
    assert wrong == {}


def test_the_readmes_tables_of_marts_have_a_row_per_mart():
    # "Point BI at it" (and its "Retention operations marts") left out the three predictive
    # marts, though the recipe "Add a mart" gives every mart a row there.
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Point BI at it\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|", section, re.M)
    expected = [*marts.COLUMNS, *marts.PREDICTIVE_COLUMNS]
    assert len(expected) > 15  # the marts are found
    assert sorted(rows) == sorted(expected), _differ(
        sorted(rows), sorted(expected), 'README "Point BI at it" (its tables)', "retention/marts.py"
    )


def _github_anchor(heading: str) -> str:
    """The anchor GitHub (and most markdown viewers) give a heading: lower case, punctuation
    other than hyphens and underscores dropped, each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


# The pages that open with a "## Contents" list: README.md always, and every other page of
# docs/ that has one (the long pages moved out of the README); docs/decisions.md has its own
# test below.
DECISIONS = "docs/decisions.md"
CONTENTS_PAGES = sorted(
    {"README.md"}
    | {
        f"docs/{page.name}"
        for page in (REPO_ROOT / "docs").glob("*.md")
        if "\n## Contents\n" in page.read_text(encoding="utf-8")
    }
    - {DECISIONS}
)


def _sections_and_contents(name: str) -> tuple[list[str], str]:
    """A page's `##` headings but "Contents", and the text of its "Contents" section."""
    text = (REPO_ROOT / name).read_text(encoding="utf-8")
    sections = [h for h in re.findall(r"^## (.+)$", text, re.M) if h != "Contents"]
    block = text.split("\n## Contents\n", 1)[1].split("\n## ", 1)[0]
    return sections, block


def _wrong_anchors(links: list[tuple[str, str]]) -> dict[str, str]:
    return {text: anchor for text, anchor in links if anchor != _github_anchor(text)}


@pytest.mark.parametrize("name", CONTENTS_PAGES)
def test_a_long_pages_contents_list_every_section_in_order_with_its_anchor(name):
    # Long pages (the README is 500 lines): their contents are the way in, and must not drift
    # from their sections. Each entry gives its section a line of what it holds.
    sections, block = _sections_and_contents(name)
    links = re.findall(r"^- \[(.+?)\]\(#([^)]+)\): \S", block, re.M)
    assert len(sections) > (10 if name == "README.md" else 1)
    assert [text for text, _ in links] == sections, _differ(
        [text for text, _ in links], sections, f'{name} "Contents"', f"{name}'s ## headings"
    )
    wrong = _wrong_anchors(links)
    assert not wrong, f'{name} "Contents": links whose anchor is not their section\'s: {wrong}'
    assert _github_anchor("Contributing: add a raw source / a mart / a check") == (
        "contributing-add-a-raw-source--a-mart--a-check"  # ":" and "/" dropped, spaces kept
    )


def test_the_decisions_contents_list_every_section_once_under_a_topic():
    # docs/decisions.md (3,500 lines) is a record: its sections stay in the order they were
    # written, and its contents group them by topic (a bold line, then the topic's entries),
    # so that a reader with a question finds the sections on its subject. Every section is
    # listed exactly once, by its anchor; an entry may say after a colon what it holds (its
    # lines indented below it). Prose between the lists ("See also ...") is not an entry.
    sections, block = _sections_and_contents(DECISIONS)
    entries = re.findall(r"^- .*(?:\n  \S.*)*", block, re.M)
    entries = [re.sub(r"\n\s+", " ", entry) for entry in entries]
    pattern = re.compile(r"- \[(.+?)\]\(#([^)]+)\)(?:: \S.*)?")
    malformed = [line for line in entries if not pattern.fullmatch(line)]
    assert malformed == [], f'{DECISIONS} "Contents": entries not of the form "- [title](#anchor)"'
    links = [pattern.fullmatch(line).groups() for line in entries]
    listed = [text for text, _ in links]
    assert len(sections) > 30  # the headings are found (guards against a silent miss)
    twice = sorted({text for text in listed if listed.count(text) > 1})
    assert twice == [], f'{DECISIONS} "Contents": sections listed more than once: {twice}'
    assert sorted(listed) == sorted(sections), _differ(
        sorted(listed), sorted(sections), f'{DECISIONS} "Contents"', f"{DECISIONS}'s ## headings"
    )
    wrong = _wrong_anchors(links)
    assert not wrong, f'{DECISIONS} "Contents": links whose anchor is not their section\'s: {wrong}'
    # Each entry sits under a topic: the block is topics (a line in bold), each followed by
    # its entries, with no entry before the first topic.
    topics = re.findall(r"^\*\*(.+?)\*\*$", block, re.M)
    assert len(topics) >= 5, f'{DECISIONS} "Contents": entries grouped under at least 5 topics'
    before_first_topic = block.split(f"**{topics[0]}**", 1)[0]
    assert not re.search(r"^- ", before_first_topic, re.M), "an entry before the first topic"


def test_the_readme_lists_every_page_of_docs_with_what_it_holds():
    # The README's long reference sections moved to docs/ pages; its "Further documentation"
    # is how a reader finds them, so a page left out of it is a page nobody finds.
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Further documentation\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- \[[^\]]+\]\((docs/[^)#]+\.md)\): \S", section, re.M)
    pages = sorted(f"docs/{page.name}" for page in (REPO_ROOT / "docs").glob("*.md"))
    assert len(pages) > 10  # the pages are found (guards against a silent miss)
    assert sorted(listed) == pages, _differ(
        sorted(listed), pages, 'README "Further documentation"', "docs/*.md"
    )


# A markdown link's target (its text and a code span may wrap onto the next line, as
# about sixty of the docs' links do), and a heading (outside code, where a line starting
# with # is a comment).
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^()\s]+)\)")
CODE_SPAN = re.compile(r"`(?:[^`\n]|\n(?!\n))*`")
HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.M)


def _outside_code_blocks(text: str) -> str:
    """A page without its fenced and indented code blocks. An indented block follows a blank
    line; an indented line after a line of text continues it (a list item's wrapped line)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"(?<=\n\n)(?:(?: {4}|\t).*(?:\n|$)|\n)+", "", text)


def _anchors(page) -> set[str]:
    text = _outside_code_blocks(page.read_text(encoding="utf-8"))
    return {_github_anchor(heading) for heading in HEADING.findall(text)}


def _broken_links(pages: list, root=REPO_ROOT) -> tuple[int, list[str]]:
    """How many relative links the pages hold, and those that lead to no file or, for an
    `#anchor` into a markdown page, to no heading of that page."""
    count, broken = 0, []
    for page in pages:
        prose = _outside_code_blocks(page.read_text(encoding="utf-8"))
        for target in MARKDOWN_LINK.findall(CODE_SPAN.sub("", prose)):
            if re.match(r"[a-z][a-z+.-]*:", target):  # https:, mailto:: not the repository's
                continue
            count += 1
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(root)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{page.relative_to(root)}: {target} (no such heading)")
    return count, broken


def test_every_relative_link_of_the_readme_and_docs_leads_to_a_file_and_heading():
    # Moving a section to docs/ breaks what pointed at it: a link to a repository file needs
    # ../ from docs/, an anchor needs the heading of the page it now lives on.
    pages = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    count, broken = _broken_links(pages)
    assert count > 30  # the links are found (guards against a silent miss)
    assert broken == []


def test_a_link_to_a_moved_file_or_heading_is_reported(tmp_path):
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    (tmp_path / "README.md").write_text("# Top\n\n## Point BI at it\n")
    page.write_text(
        "# Page\n\n## A section\n\n[ok](../README.md#point-bi-at-it) [ok](#a-section)\n"
        "[gone](README.md) [moved](../README.md#dashboard) [here](#b-section)\n"
        "`[code](nowhere.md)` [web](https://example.com/x.md)\n"
        # A link whose text wraps, one after a code span that wraps, one on a list item's
        # indented wrapped line: each checked (they were skipped); an indented code block not.
        "see [a wrapped\nlink](#c-section), `make\ndemo` ([after](#d-section))\n\n"
        "- an item\n    [indented](#e-section)\n\n    [code block](#f-section)\n"
    )
    count, broken = _broken_links([page], root=tmp_path)
    assert count == 8
    assert broken == [
        "docs/page.md: README.md (no such file)",
        "docs/page.md: ../README.md#dashboard (no such heading)",
        "docs/page.md: #b-section (no such heading)",
        "docs/page.md: #c-section (no such heading)",
        "docs/page.md: #d-section (no such heading)",
        "docs/page.md: #e-section (no such heading)",
    ]


def test_docs_marts_md_has_a_section_per_mart_naming_every_column():
    text = (REPO_ROOT / "docs" / "marts.md").read_text(encoding="utf-8")
    parts = re.split(r"^## (\w+) —", text, flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    columns = {**marts.COLUMNS, **marts.PREDICTIVE_COLUMNS}
    assert sorted(sections) == sorted(columns), _differ(
        sorted(sections),
        sorted(columns),
        "docs/marts.md (## <mart> — <grain>)",
        "retention/marts.py",
    )
    missing = {
        mart: [column for column in mart_columns if not re.search(rf"\b{column}\b", sections[mart])]
        for mart, mart_columns in columns.items()
    }
    assert not any(missing.values()), f"columns docs/marts.md does not name: {missing}"


def test_every_singular_test_is_broken_on_purpose_in_test_data_tests_fail():
    # docs/decisions.md, "Every data check is shown to fail": a test that passes on every
    # build proves nothing unless some data would make it fail. README "Add a check".
    cases = (REPO_ROOT / "python_checks" / "test_data_tests_fail.py").read_text("utf-8")
    singular = sorted(path.stem for path in (REPO_ROOT / "tests").glob("*.sql"))
    assert len(singular) > 5  # the tests are found
    missing = [name for name in singular if name not in cases]
    assert not missing, (
        f"singular tests python_checks/test_data_tests_fail.py never breaks: {missing}; add a "
        "case that changes a row of the shared build and expects the rows the test returns"
    )


# A contributor half way through a recipe (README "Contributing") meets these checks: each
# failure names what one list holds and the other lacks, and where each list lives. Before,
# they said only what pytest says of two lists (`Right contains one more item: …`, `Extra
# items in the left set`), and a missing base model was a FileNotFoundError.


def test_a_raw_table_only_in_the_contract_is_named_with_each_list(monkeypatch):
    monkeypatch.setattr(contract, "TABLES", {**contract.TABLES, "refund_requests": None})
    only = r"in retention/contract\.py[^:]*, not in .*: \['refund_requests'\]"
    with pytest.raises(AssertionError, match=only):
        test_the_raw_tables_are_the_same_in_the_same_order()
    with pytest.raises(AssertionError, match=only):
        test_the_docs_contract_table_has_every_raw_table_and_column()
    with pytest.raises(AssertionError, match=r"no base model .*base_shop__refund_requests\.sql"):
        test_a_raw_tables_typed_columns_are_those_its_base_model_parses("refund_requests")


def test_a_mart_only_in_marts_py_is_named_with_each_list(monkeypatch):
    monkeypatch.setattr(marts, "MARTS", (*marts.MARTS, "mart_referrals"))
    monkeypatch.setattr(marts, "COLUMNS", {**marts.COLUMNS, "mart_referrals": ["month_start"]})
    only = r"in retention/marts\.py[^:]*, not in {}[^:]*: \['mart_referrals'\]"
    with pytest.raises(AssertionError, match=only.format(r"the marts' YAML")):
        test_the_marts_are_the_same()
    with pytest.raises(AssertionError, match=only.format('README "Point BI at it"')):
        test_the_readmes_tables_of_marts_have_a_row_per_mart()
    with pytest.raises(AssertionError, match=only.format("docs/marts.md")):
        test_docs_marts_md_has_a_section_per_mart_naming_every_column()


def test_names_in_another_order_are_said_to_be_so():
    assert _differ(["a", "b"], ["b", "a"], "x", "y") == (
        "the same names in another order: x ['a', 'b'], y ['b', 'a']"
    )


# --- the names the docs give ------------------------------------------------------------------

# The pages that describe the project as it is: README.md and every page of docs/ but
# docs/decisions.md and docs/performance-history.md, which are records and may name what has
# gone.
RECORDS = ("docs/decisions.md", "docs/performance-history.md")
CURRENT_DOCS = (
    "README.md",
    *sorted(
        name
        for name in (f"docs/{page.name}" for page in (REPO_ROOT / "docs").glob("*.md"))
        if name not in RECORDS
    ),
)
# Folders a path in the docs starts from: the repository's, and the models' layers (the
# glossary names models under models/).
DOC_PATH_ROOTS = {
    "models", "macros", "retention", "python_checks", "python_checks_spark", "docs", "tests",
    "dashboard", "seeds", "analyses", ".ci", ".github",
}  # fmt: skip
MODEL_LAYERS = {"staging", "intermediate", "marts", "quarantine"}
# Not part of the repository: tools, builds, data and caches.
UNTRACKED = {".git", ".venv", ".tools", ".cache", "target", "data", "logs", "bench_results"}
# The code and docs a bare file name may name (a bare .csv or .json is a data file's example).
SUFFIXES = (".sql", ".py", ".yml", ".md", ".sh")


def _doc_pages() -> list:
    pages = [REPO_ROOT / name for name in CURRENT_DOCS]
    return pages + sorted((REPO_ROOT / "models").rglob("_*__docs.md"))


def _repo_paths() -> set[str]:
    """Every file and folder of the repository (relative, with /), without UNTRACKED."""
    found = set()
    for folder, subfolders, files in os.walk(REPO_ROOT):
        subfolders[:] = [s for s in subfolders if s not in UNTRACKED and s != "__pycache__"]
        relative = os.path.relpath(folder, REPO_ROOT).replace(os.sep, "/")
        prefix = "" if relative == "." else relative + "/"
        found.update(prefix + name for name in [*subfolders, *files])
    return found


def _pattern(name: str) -> re.Pattern:
    """A name as the docs write it, with its placeholders: <x> one path segment, {a,b} a
    choice, * any characters of one segment, … anything."""
    text = re.escape(name.rstrip("/"))
    text = re.sub(r"\\<[^>]*\\>|<[^>]*>", "[^/]+", text)
    text = re.sub(
        r"\\\{([^}]*)\\\}",
        lambda m: "(" + m.group(1).replace("\\", "").replace(",", "|") + ")",
        text,
    )
    return re.compile(text.replace(r"\*", "[^/]*").replace("…", ".*"))


def test_every_file_the_docs_name_exists():
    paths = _repo_paths()
    names = {path.rsplit("/", 1)[-1] for path in paths}
    missing = []
    for page in _doc_pages():
        for span in re.findall(r"`([^`\n]+)`", page.read_text(encoding="utf-8")):
            name = span.strip()
            if " " in name or "$" in name or "://" in name:
                continue
            first = name.split("/", 1)[0]
            if "/" in name and first in DOC_PATH_ROOTS | MODEL_LAYERS:
                candidates = [name.rstrip("/")]
                if first in MODEL_LAYERS:  # models/..., its .sql or .py file left unsaid
                    candidates += [f"models/{name.rstrip('/')}{end}" for end in ("", ".sql", ".py")]
                if not any(_pattern(c).fullmatch(p) for c in candidates for p in paths):
                    missing.append(f"{page.relative_to(REPO_ROOT)}: {name}")
            elif (
                "/" not in name
                and name.endswith(SUFFIXES)
                and not any(_pattern(name).fullmatch(n) for n in names)
            ):
                missing.append(f"{page.relative_to(REPO_ROOT)}: {name}")
    assert len(paths) > 300  # the walk finds the repository (guards against a silent miss)
    # The recipe's example of a new module, which does not exist by design.
    examples = {"README.md: refunds.py"}
    assert sorted(set(missing) - examples) == []


def test_the_glossary_names_every_file_of_dispatched_macros():
    # Its "Engine-specific SQL" row left out three files whose macros are dispatched per
    # engine (incremental_config, write_build_state, timezone_unknown_to_engine): a reader
    # porting to another engine would not have found them.
    glossary = (REPO_ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    (row,) = [line for line in glossary.splitlines() if line.startswith("| **Engine-specific")]
    dispatching = sorted(
        path.name
        for path in MACROS_DIR.glob("*.sql")
        if re.search(r"adapter\.dispatch\(\s*'", path.read_text(encoding="utf-8"))
    )
    assert len(dispatching) > 5  # the files are found
    assert [name for name in dispatching if f"`macros/{name}`" not in row] == []


def test_every_make_target_and_macro_the_docs_name_exists():
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    macros = {name.removeprefix("test_") for name in _macros_in_sql()}
    wrong = []
    for page in _doc_pages():
        text = page.read_text(encoding="utf-8")
        fences = re.findall(r"^```.*?^```", text, re.M | re.S)
        prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
        code = "\n".join([*fences, *re.findall(r"`([^`\n]+)`", prose)])
        for target in re.findall(r"(?<![\w/.-])make ([a-z][\w-]*)", code):
            if target not in targets:
                wrong.append(f"{page.relative_to(REPO_ROOT)}: make {target}")
        for name in re.findall(r"\bmacros? `(\w+)`", text):
            if name not in macros:
                wrong.append(f"{page.relative_to(REPO_ROOT)}: macro {name}")
    assert len(targets) > 20 and len(macros) > 100  # both lists are found
    assert wrong == []


def test_every_saved_query_that_groups_returns_its_rows_in_order():
    # `mf query --saved-query monthly_churn_trend`, the README's first metric answer, printed
    # its months in hash order: a saved query without order_by has no order.
    semantic = read_yaml(REPO_ROOT / "models" / "marts" / "_marts__semantic.yml")
    unordered = [
        query["name"]
        for query in semantic["saved_queries"]
        if query["query_params"].get("group_by")
        and query["query_params"].get("order_by") != query["query_params"]["group_by"]
    ]
    assert len(semantic["saved_queries"]) > 10  # the saved queries are found
    assert unordered == []


def test_a_view_marts_constraints_do_not_warn_on_every_run():
    # dbt ignores constraints on a view and printed "Constraint types are not supported for
    # view materializations" at the start of every run, the demo's and the daily build's.
    views = {
        path.stem
        for path in MARTS_DIR.rglob("*.sql")
        if re.search(r"materialized\s*=\s*'view'", path.read_text(encoding="utf-8"))
    }
    assert "fct_customer_months" in views  # the views are found
    warning = [
        f"{name}.{column['name']}"
        for name, model in mart_models().items()
        if name in views
        for column in model.get("columns") or []
        for constraint in column.get("constraints") or []
        if constraint.get("warn_unsupported") is not False
    ]
    assert warning == []


def test_every_doc_block_is_used_and_every_use_has_a_block():
    """A `{% docs %}` block no description reads is dead text that drifts from the code."""
    defined, used = set(), set()
    for path in (REPO_ROOT / "models").rglob("*"):
        if path.suffix == ".md":
            defined |= set(re.findall(r"\{%-?\s*docs\s+(\w+)\s*-?%\}", path.read_text("utf-8")))
        elif path.suffix == ".yml":
            used |= set(re.findall(r"""doc\(\s*['"](\w+)['"]\s*\)""", path.read_text("utf-8")))
    assert len(defined) > 20  # the blocks are found
    assert sorted(defined - used) == []
    assert sorted(used - defined) == []
