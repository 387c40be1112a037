"""`retention diff --base PATH [--db PATH]`: what a change does to the numbers of the marts.

Compares every mart of two built warehouses (the base branch's and the one under review,
`--db`) row by row on the mart's key (`retention.marts.KEYS`, and `PREDICTIVE_KEYS` for the
predictive CLV marts, compared when either warehouse has them) and prints, as markdown a pull
request comment can carry: per mart, the rows added (key only in `--db`), removed (key only
in the base) and changed (same key, another value in at least one column), the columns whose
values changed with how many rows and a few example keys with both values, and the columns
added, removed or retyped.

The comparison runs inside DuckDB: both files are attached read-only to one in-memory
database and each mart is full-outer-joined with itself on its key (keys compared with
`is not distinct from`, so a null key part matches a null). Nothing is loaded into Python
but the counts and the examples, so a mart of millions of rows costs a hash join.

Numbers: integers, dates, text and booleans must be equal; floating-point and decimal values
are equal when |base − PR| <= tolerance × max(1, |base|, |PR|) (default 1e-9): a relative
tolerance for values above 1 and an absolute one below it, so sums of doubles taken in
another order (which differ in their last digits) do not count as changes, and a rate
moving from 0 to 1e-12 does not either. Null equals null.

A mart missing from a warehouse whose last dbt build did not complete (meta.build_state
`failed` or `building`: a failed model, unit test or test skips the models after it) is
reported as not built there and not compared, rather than as removed or added by the
change; on the PR side only a mart this checkout defines, since one it does not define the
change removed. A warehouse whose models were all built and whose tests then failed
(`failed` with failed_step `tests`, as `make data-diff` records it) lacks no mart its build
skipped: a mart missing there is one the change removed or added, said with the failed
tests.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from retention import console
from retention.marts import (
    BUSY_MEANING,
    EXIT_BUSY,
    KEYS,
    MARTS,
    PREDICTIVE_KEYS,
    PREDICTIVE_MARTS,
    SCHEMA,
    TESTS_FAILED,
    BuildState,
    WarehouseError,
    open_failed,
    open_read_only,
    recorded_build_state,
)
from retention.paths import add_db_argument, db_path
from retention.sql_text import ident, sql_literal

DEFAULT_TOLERANCE = 1e-9
DEFAULT_EXAMPLES = 3
EXIT_DIFFERENT = 1
EXIT_CODES = {
    0: "the marts were compared and the report printed (differences or not, unless --exit-code)",
    EXIT_DIFFERENT: "with --exit-code: at least one mart differs",
    2: "nothing compared: a database is missing, does not open or has no marts (or both "
    "options name the same file), a --mart is unknown or in neither warehouse, or DuckDB "
    "failed while comparing (out of memory, an --examples beyond its LIMIT)",
    EXIT_BUSY: BUSY_MEANING,
}

# Every mart `retention diff` can compare, with its key. The predictive CLV marts are
# compared by default only when at least one of the two warehouses has them (a warehouse
# built before they existed has none; one built with RETENTION_PREDICTIVE=off has them
# empty, and empty equals empty).
MART_KEYS: dict[str, list[str]] = {**KEYS, **PREDICTIVE_KEYS}

# DuckDB's floating-point and fixed-point types: compared with the tolerance.
INEXACT_TYPES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")

# meta.build_state of a warehouse whose last dbt build did not complete (it failed, or was
# killed): a mart missing there may be one that build did not build (macros/
# record_build_state.sql), so it is reported as not compared rather than as added or removed;
# unless the models were all built and only the tests failed (BuildState.tests_failed).
UNFINISHED_STATES = ("failed", "building")

SIDE_NAMES = {"base": "the base warehouse", "pr": "the PR warehouse"}


class DiffError(Exception):
    """The marts cannot be compared. The message says why."""


@dataclass
class ColumnChange:
    column: str
    rows: int
    examples: list[tuple[str, object, object]]  # (key, base value, PR value)


@dataclass
class MartDiff:
    mart: str
    base_rows: int | None  # None: the mart is not in that database
    pr_rows: int | None
    added: int = 0
    removed: int = 0
    changed: int = 0
    columns: list[ColumnChange] = field(default_factory=list)
    added_keys: list[str] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    types_changed: list[str] = field(default_factory=list)  # "column: BASE → PR"
    # Why the rows were not matched (None: they were): no key known for the mart, or its key
    # columns not in both warehouses. Rows added, removed and changed are then unknown.
    unmatched: str | None = None
    # The meta.build_state of the warehouse that lacks the mart (the PR's when both do), and
    # whether it records that its models were all built and its tests then failed.
    build_state: str | None = None
    tests_failed: bool = False
    # "base" or "pr": the mart is missing from that warehouse, whose last dbt build did not
    # complete (build_state `failed` or `building`), so it is not compared. On the PR side only
    # a mart this checkout defines (retention/marts.py): one it does not, the change removed.
    not_built: str | None = None

    @property
    def differs(self) -> bool:
        return bool(
            self.unmatched
            or self.base_rows is None
            or self.pr_rows is None
            or self.added
            or self.removed
            or self.changed
            or self.columns_added
            or self.columns_removed
            or self.types_changed
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base",
        type=Path,
        required=True,
        metavar="PATH",
        help="the base branch's built warehouse (a DuckDB file) to compare with",
    )
    add_db_argument(parser)
    parser.add_argument(
        "--base-label",
        metavar="TEXT",
        help="what the base warehouse was built from (e.g. a git revision), named in the "
        "report beside its path",
    )
    parser.add_argument(
        "--label",
        metavar="TEXT",
        help="what the warehouse under review was built from, named in the report beside its path",
    )
    parser.add_argument(
        "--mart",
        action="append",
        metavar="NAME",
        # Any relation of either warehouse's marts schema, not only the marts this checkout
        # knows: a mart the change removed is compared by name too (compare() refuses one
        # that neither warehouse has, naming the marts they have).
        help="compare only this mart (repeatable; default: every mart, the predictive ones "
        "when either warehouse has them)",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"example keys shown per changed column and for added and removed rows "
        f"(default {DEFAULT_EXAMPLES})",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        metavar="TOL",
        help="floating-point values are equal when |base - PR| <= TOL x max(1, |base|, |PR|) "
        f"(default {DEFAULT_TOLERANCE:g})",
    )
    parser.add_argument(
        "--exit-code",
        action="store_true",
        help=f"exit {EXIT_DIFFERENT} when any mart differs (as `git diff --exit-code`)",
    )


def run(args: argparse.Namespace) -> int:
    if args.examples < 0 or not math.isfinite(args.tolerance) or args.tolerance < 0:
        console.error("diff", "--examples and --tolerance must be 0 or more")
        return 2
    pr = db_path(args)
    try:
        diffs = compare(args.base, pr, args.mart, args.tolerance, args.examples)
    except WarehouseError as exc:
        console.error("diff", str(exc))
        return exc.exit_code
    except DiffError as exc:
        console.error("diff", str(exc))
        return 2
    except duckdb.Error as exc:  # out of memory, or --examples beyond DuckDB's LIMIT
        console.error("diff", f"DuckDB failed while comparing the marts: {console.first_line(exc)}")
        return 2
    text = markdown(diffs, args.base, pr, args.tolerance, args.base_label, args.label)

    def view():
        from rich.markdown import Markdown

        return Markdown(text)

    console.show(text, view)
    if args.exit_code and any(d.differs for d in diffs):
        return EXIT_DIFFERENT
    return 0


# --- the comparison ----------------------------------------------------------------------------


def marts_and_state(path: Path, option: str) -> tuple[set[str], BuildState]:
    """The relations of the marts schema in `path` (given as `option`) and its
    meta.build_state; WarehouseError when it does not open or holds no marts."""
    if not Path(path).is_file():
        raise WarehouseError(f"{option} {path} is not a file: give a built warehouse")
    with open_read_only(path) as con:
        present = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [SCHEMA],
            ).fetchall()
        }
        state = recorded_build_state(con)
    if not present & set(MARTS):
        raise WarehouseError(
            f"database {path} has no marts: build it first (`retention build --data DIR "
            f"--db {path}`, or `dbt build` with RETENTION_DB_PATH={Path(path).resolve()})"
        )
    return present, state


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, mart: str) -> dict[str, str] | None:
    rows = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? order by column_index",
        [catalog, SCHEMA, mart],
    ).fetchall()
    return dict(rows) if rows else None


def _inexact(data_type: str) -> bool:
    return data_type.upper().startswith(INEXACT_TYPES)


def _differs_sql(column: str, base_type: str, pr_type: str, tolerance: float) -> str:
    """A SQL condition: the column's value differs between the joined rows b and p."""
    b, p = f"b.{ident(column)}", f"p.{ident(column)}"
    if base_type != pr_type and not (_inexact(base_type) or _inexact(pr_type)):
        b, p = f"cast({b} as varchar)", f"cast({p} as varchar)"
    if not (_inexact(base_type) or _inexact(pr_type)):
        return f"({b} is distinct from {p})"
    b, p = f"cast({b} as double)", f"cast({p} as double)"
    close = f"abs({b} - {p}) <= {tolerance!r} * greatest(1.0, abs({b}), abs({p}))"
    return f"(not ({b} is not distinct from {p} or coalesce({close}, false)))"


def _key_text(key: list[str], values: tuple) -> str:
    return ", ".join(f"{column}={_value(value)}" for column, value in zip(key, values, strict=True))


def _value(value: object) -> str:
    """A value as the report shows it. Characters that do not print (a line break, a tab)
    are spelled out as escapes: a line break ended the markdown table's row, and "a\\nb"
    and "a b" looked alike."""
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.12g}"  # 12 digits: a change beyond the tolerance shows
    text = str(value)
    if text == "":
        return "''"
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def compare_mart(
    con: duckdb.DuckDBPyConnection,
    mart: str,
    tolerance: float,
    examples: int,
    states: dict[str, BuildState] | None = None,
) -> MartDiff:
    """One mart of the attached databases `base` and `pr`, whose meta.build_state are
    `states` (by alias)."""
    base_cols, pr_cols = _columns(con, "base", mart), _columns(con, "pr", mart)
    count = "select count(*) from {}." + f"{SCHEMA}.{ident(mart)}"
    base_rows = con.execute(count.format("base")).fetchone()[0] if base_cols else None
    pr_rows = con.execute(count.format("pr")).fetchone()[0] if pr_cols else None
    diff = MartDiff(mart, base_rows, pr_rows)
    if base_cols is None or pr_cols is None:
        # Missing from a warehouse whose build did not complete: a failed unit test, test or
        # model skips the marts after it, which read as removed (or added) by the change.
        side = "pr" if pr_cols is None else "base"
        recorded = (states or {}).get(side, BuildState())
        diff.build_state, diff.tests_failed = recorded.state, recorded.tests_failed
        unfinished = recorded.state in UNFINISHED_STATES and not recorded.tests_failed
        if unfinished and (side == "base" or mart in MART_KEYS):
            diff.not_built = side
        return diff
    diff.columns_added = [c for c in pr_cols if c not in base_cols]
    diff.columns_removed = [c for c in base_cols if c not in pr_cols]
    common = [c for c in base_cols if c in pr_cols]
    diff.types_changed = [
        f"{c}: {base_cols[c]} → {pr_cols[c]}" for c in common if base_cols[c] != pr_cols[c]
    ]
    # A mart this checkout has no key for (the change removed it from retention/marts.py) or
    # whose key columns are not in both (the change renamed one): its columns and row counts
    # are reported, its rows not matched. (It stopped the whole diff, exit 2.)
    key = MART_KEYS.get(mart)
    if key is None:
        diff.unmatched = "no key for it in retention/marts.py (a mart the change removed?)"
        return diff
    if missing_key := [k for k in key if k not in common]:
        diff.unmatched = (
            f"its key column(s) {', '.join(missing_key)} not in both warehouses (a renamed key?)"
        )
        return diff
    values = [c for c in common if c not in key]
    on = " and ".join(f"b.{ident(k)} is not distinct from p.{ident(k)}" for k in key)
    relation = f"{SCHEMA}.{ident(mart)}"
    select = [f"coalesce(b.{ident(k)}, p.{ident(k)}) as k{i}" for i, k in enumerate(key)]
    select += ["b.__in_base is not null as in_base", "p.__in_pr is not null as in_pr"]
    for i, column in enumerate(values):
        differs = _differs_sql(column, base_cols[column], pr_cols[column], tolerance)
        select += [
            f"b.{ident(column)} as b{i}",
            f"p.{ident(column)} as p{i}",
            f"(b.__in_base and p.__in_pr and {differs}) as x{i}",
        ]
    table = f"diff_{mart}"
    con.execute(
        f"create or replace temp table {table} as select {', '.join(select)} "
        f"from (select *, true as __in_base from base.{relation}) as b "
        f"full outer join (select *, true as __in_pr from pr.{relation}) as p on {on}"
    )
    any_change = " or ".join(f"x{i}" for i in range(len(values))) or "false"
    counts = [
        "count(*) filter (where in_pr and not in_base)",
        "count(*) filter (where in_base and not in_pr)",
        f"count(*) filter (where {any_change})",
        *(f"count(*) filter (where x{i})" for i in range(len(values))),
    ]
    row = con.execute(f"select {', '.join(counts)} from {table}").fetchone()
    diff.added, diff.removed, diff.changed = row[0], row[1], row[2]
    keys = ", ".join(f"k{i}" for i in range(len(key)))
    order = ", ".join(f"k{i} nulls first" for i in range(len(key)))

    def sample(where: str, extra: str = "") -> list[tuple]:
        return con.execute(
            f"select {keys}{extra} from {table} where {where} order by {order} limit {examples}"
        ).fetchall()

    width = len(key)
    if diff.added:
        diff.added_keys = [_key_text(key, r) for r in sample("in_pr and not in_base")]
    if diff.removed:
        diff.removed_keys = [_key_text(key, r) for r in sample("in_base and not in_pr")]
    for i, column in enumerate(values):
        if row[3 + i]:
            rows = sample(f"x{i}", f", b{i}, p{i}")
            diff.columns.append(
                ColumnChange(
                    column,
                    row[3 + i],
                    [(_key_text(key, r[:width]), r[width], r[width + 1]) for r in rows],
                )
            )
    con.execute(f"drop table {table}")
    return diff


def compare(
    base: Path,
    pr: Path,
    marts: tuple[str, ...] | list[str] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    examples: int = DEFAULT_EXAMPLES,
) -> list[MartDiff]:
    """The differences of each of `marts` between the warehouses `base` and `pr` (default:
    every mart, and each predictive mart that either warehouse has)."""
    present, states = set(), {}
    for side, path, option in (("base", base, "--base"), ("pr", pr, "--db")):
        held, states[side] = marts_and_state(path, option)
        present |= held
    if Path(base).resolve() == Path(pr).resolve():
        raise DiffError(f"--base and --db are the same file ({pr}): nothing to compare")
    # A mart asked for that neither warehouse has compares nothing with nothing: it was
    # reported as "1 of 1 marts differ" (and exit 1 with --exit-code).
    if absent := [mart for mart in dict.fromkeys(marts or ()) if mart not in present]:
        held = [mart for mart in MART_KEYS if mart in present]
        held += sorted(present - set(held))
        raise DiffError(
            f"unknown mart {', '.join(absent)}: neither warehouse has it; the marts they have: "
            f"{', '.join(held)}"
        )
    if marts is None:
        # Every mart this checkout knows, and any other relation of the marts schema of either
        # warehouse (a mart the change removed: it was left out of the report in silence).
        marts = [
            *MARTS,
            *(mart for mart in PREDICTIVE_MARTS if mart in present),
            *sorted(present - set(MART_KEYS)),
        ]
    con = duckdb.connect()
    try:
        for alias, path in (("base", base), ("pr", pr)):
            try:
                con.execute(f"attach {sql_literal(path)} as {alias} (read_only)")
            except duckdb.Error as exc:
                raise open_failed(path, exc) from exc
        return [
            compare_mart(con, mart, tolerance, examples, states) for mart in dict.fromkeys(marts)
        ]
    finally:
        con.close()


def main(argv: list[str]) -> int:
    """`python -m retention.diff DB`: exit 0 when the warehouse DB holds a mart, else 1
    (`make data-diff`: a pull request's build that stopped while parsing leaves the loaded
    file without marts, and the base's build is not worth starting then)."""
    (path,) = argv
    try:
        marts_and_state(Path(path), "--db")
    except WarehouseError:
        return 1
    return 0


# --- the report --------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text for a markdown table cell: a `|` would end the cell (GitHub reads `\\|` as `|`,
    in code spans too)."""
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """`text` as a markdown code span, shown as it is: a value's `*`, `_` or `<` are not
    markup, and a backtick in it does not end the span (the fence is longer than any run of
    backticks inside, as CommonMark allows)."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _shown(value: object) -> str:
    """An example value: text as a code span (so the text 'null' is not null, and markup in
    it shows as typed), anything else (null, numbers, dates, booleans) as it is."""
    return _code(_value(value)) if isinstance(value, str) else _value(value)


def _rows(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _source(path: Path, label: str | None) -> str:
    return f"`{path}`" + (f" ({label})" if label else "")


def _not_built(d: MartDiff) -> str:
    """Why the mart `d`, missing from the warehouse of a build that did not complete, is not
    compared."""
    state = f"meta.build_state `{d.build_state}`"
    if d.not_built == "pr":
        # This checkout defines it: the change did not remove it.
        return (
            f"Not compared: not built by the PR's dbt build, which did not complete ({state}); "
            "its model, a model before it or a test of one of them failed (a failed unit test "
            "or test skips the models after it). See the build's output."
        )
    return (
        f"Not compared: not in the base warehouse, whose last dbt build did not complete "
        f"({state}): that build may have skipped it (a failed model, unit test or test skips "
        "the models after it), or the change added it. Compare with a complete build of the "
        "base."
    )


def markdown(
    diffs: list[MartDiff],
    base: Path,
    pr: Path,
    tolerance: float,
    base_label: str | None = None,
    pr_label: str | None = None,
) -> str:
    """The report: a table of every mart, then a section for each mart that differs. The
    labels say what each warehouse was built from (`make data-diff`: the base revision, and
    the working tree the PR side was built from)."""
    not_built = [d for d in diffs if d.not_built]
    differing = [d for d in diffs if d.differs and not d.not_built]
    lines = [
        "### Data diff of the marts",
        "",
        f"Base {_source(base, base_label)}, PR {_source(pr, pr_label)}; floating-point values "
        f"equal within {tolerance:g} (relative above 1, absolute below).",
        "",
    ]
    # The marts a failed build left out first: they are what the diff cannot say anything
    # about, and "No differences" alone read as if they had been compared.
    for side in ("pr", "base"):
        if missing := [d for d in not_built if d.not_built == side]:
            state = missing[0].build_state
            lines.append(
                f"**{len(missing)} of {len(diffs)} marts not compared: {SIDE_NAMES[side]} lacks "
                f"them and its last dbt build did not complete** (meta.build_state `{state}`): "
                + ", ".join(_code(d.mart) for d in missing)
                + "."
            )
            lines.append("")
    compared = len(diffs) - len(not_built)
    if differing:
        lines.append(
            f"**{len(differing)} of {len(diffs)} marts differ.**"
            if not not_built
            else f"**{len(differing)} of the {compared} marts compared differ.**"
        )
    else:
        lines.append(f"**No differences** in the {compared} marts compared.")
    lines += [
        "",
        "| mart | rows (base → PR) | added | removed | changed | columns changed |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for d in diffs:
        # The columns whose values changed, then those added, removed or retyped: a mart
        # whose only change was a new column showed 0, 0, 0 and an empty cell.
        changed = [_code(c.column) for c in d.columns]
        for sign, names in (("+", d.columns_added), ("−", d.columns_removed)):
            changed += [f"{sign}{_code(name)}" for name in names]
        changed += [f"{_code(t.split(': ', 1)[0])} (type)" for t in d.types_changed]
        counts = (d.added, d.removed, d.changed)
        base_rows, pr_rows = _rows(d.base_rows), _rows(d.pr_rows)
        if d.not_built == "pr":
            pr_rows = "not built"
        elif d.not_built == "base":
            base_rows = "not built"
        if d.base_rows is None or d.pr_rows is None:  # nothing to match: not "0 removed"
            added, removed, changed_rows = ("—",) * 3
        elif d.unmatched:
            added, removed, changed_rows = ("?",) * 3
        else:
            added, removed, changed_rows = (f"{n:,}" for n in counts)
        lines.append(
            f"| {_cell(d.mart)} | {base_rows} → {pr_rows} | {added} | "
            f"{removed} | {changed_rows} | {_cell(', '.join(changed))} |"
        )
    for d in [d for d in diffs if d.differs]:
        lines += ["", f"#### {d.mart}", ""]
        if d.not_built:
            lines.append(_not_built(d))
            continue
        if d.base_rows is None and d.pr_rows is None:
            lines.append("In neither warehouse (not built there).")
            continue
        if d.base_rows is None or d.pr_rows is None:
            # Removed by the change when the PR's build completed; a failed build is
            # not_built above. Without a recorded state (a warehouse built before meta.
            # build_state, or loaded since) the build may have skipped it.
            # Every model built, then a test failed: the mart is not one a failure skipped.
            tests = (
                f"; the {'PR' if d.pr_rows is None else 'base'}'s tests failed, but its models "
                f"were all built (meta.build_state `{d.build_state}`, failed_step "
                f"`{TESTS_FAILED}`)"
                if d.tests_failed
                else ""
            )
            if d.pr_rows is not None:
                lines.append(f"Only in the PR warehouse: the change added or renamed it{tests}.")
            elif d.build_state == "built" or d.tests_failed:  # a complete build left it out
                lines.append(
                    f"Only in the base warehouse: the change removed or renamed it{tests}."
                )
            else:
                lines.append(
                    "Only in the base warehouse: the change removed or renamed it, or the PR's "
                    "build did not build it (a failed build skips a mart whose unit test or "
                    "parent failed)."
                )
            continue
        for label, names in (
            ("Columns added", d.columns_added),
            ("Columns removed", d.columns_removed),
            ("Column types changed", d.types_changed),
        ):
            if names:
                lines.append(f"- {label}: " + ", ".join(_code(n) for n in names))
        if d.unmatched:
            lines.append(f"- Rows not matched: {_cell(d.unmatched)}.")
        for label, count, keys in (
            ("Rows added", d.added, d.added_keys),
            ("Rows removed", d.removed, d.removed_keys),
        ):
            if count:
                shown = ", ".join(_code(k) for k in keys)
                lines.append(
                    f"- {label}: {count:,} (e.g. {shown})" if keys else f"- {label}: {count:,}"
                )
        if d.columns:
            lines += [
                f"- Rows changed: {d.changed:,}",
                "",
                "| column | rows changed | examples (key: base → PR) |",
                "|---|---:|---|",
            ]
            for c in d.columns:
                shown = "; ".join(
                    f"{_code(key)}: {_shown(b)} → {_shown(p)}" for key, b, p in c.examples
                )
                lines.append(f"| {_cell(_code(c.column))} | {c.rows:,} | {_cell(shown)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
