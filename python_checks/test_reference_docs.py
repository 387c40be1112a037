"""The repository stands alone (issue 14): docs/reference.md, the raw input contract and every
metric, is generated from the YAML and current; the README and docs/ point nowhere outside
the repository."""

from __future__ import annotations

import re

import pytest
from pipeline import REPO_ROOT

from retention import reference


def test_reference_doc_is_generated_from_the_current_yaml() -> None:
    current = (REPO_ROOT / reference.OUTPUT).read_text(encoding="utf-8")
    assert current == reference.render(), (
        "docs/reference.md is out of date: run `.venv/bin/python -m retention.reference`"
    )


def test_a_stale_reference_doc_names_the_command_that_writes_it(monkeypatch) -> None:
    # It said `make docs`, which writes it, then builds the dbt docs site and, without a
    # built warehouse, stops with exit 2 ("no warehouse at ...: run make demo first").
    monkeypatch.setattr(reference, "render", lambda: "stale")
    with pytest.raises(AssertionError, match=r"run `\.venv/bin/python -m retention\.reference`"):
        test_reference_doc_is_generated_from_the_current_yaml()


def test_reference_doc_lists_every_raw_column_and_every_metric() -> None:
    text = reference.render()
    sources = reference._load(reference.SOURCES)["sources"][0]["tables"]
    for table in sources:
        assert f"### `{table['name']}`" in text
        for column in table["columns"]:
            if column["name"] not in reference.LOADER_COLUMNS:
                assert re.search(rf"^\| `{column['name']}` \| (required|optional) \|", text, re.M)
    semantic = reference._load(reference.SEMANTIC)
    for metric in semantic["metrics"]:
        assert f"| `{metric['name']}` |" in text
    # A ratio shows its numerator and denominator: churn rate = churned / customer-months at
    # risk (the months' summed starts), and a balance which of the group's rows it reads.
    assert (
        "| `churn_rate` | Churn rate | ratio | `churned_customers` / `customers_at_risk` |" in text
    )
    last = "(a balance: the rows of the group's last `period_start` of each `period_basis` only)"
    assert last in text


def test_readme_and_docs_point_nowhere_outside_the_repository() -> None:
    pages = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text and "SPEC" not in text, page.name
