"""`retention validate [--db PATH]`: run the Great Expectations suites against the marts.

Each mart (schema ``marts``, docs/marts.md) is read from the DuckDB file with duckdb in
read-only mode into a pandas DataFrame and validated with Great Expectations' pandas
datasource (its SQL datasource does not keep a DuckDB connection open). The suites live in
`retention.expectations`, the residual columns of their identities in `retention.identities`.
The GE context is ephemeral: nothing is written to disk.

The marts are read one at a time, and a mart of more than PART_ROWS rows whose key starts
with customer_id (fct_customer_months at scale) in parts of whole customers (by a hash of
customer_id), each part's frame released, with the GE data source that held it, before the
next is read: GE's pandas engine needs several times a frame's size, and every expectation
of these suites holds for a table exactly when it holds for each part of whole customers
(row-level checks; the key, which contains customer_id, is unique; the documented columns
exist; at least one row, as the table has more than PART_ROWS). An expectation fails when
it fails in any part; its detail then says in which part. Such a mart is read once, into a
scratch DuckDB file with each row's part, sorted by part, and the parts are read from
there: fct_customer_months is a view, and filtering the view by part computed it again
for every part. DuckDB itself keeps to RETENTION_MEMORY_LIMIT (default 3GiB, as in the dbt
profile) and spills to the same scratch folder (a temporary folder, removed at the end).

Volume check: with ``--baseline PATH`` (the published warehouse; `retention build` passes it),
a mart whose row count fell by more than ``--max-shrink`` (a share, default 0.10) against the
same mart in the baseline fails, so a bad delivery that empties the warehouse is never
published. ``--allow-shrink`` turns the check off for a deliberate shrink. A mart new in this
build is not compared; a baseline that does not exist or holds no marts is an error
(`retention build` passes none until a built warehouse is published).

Checks across marts: after the suites, the identities between marts of
`retention.consistency` whose marts are all validated, computed in SQL on the same
connection; their result is one more line of the summary, ACROSS ("across marts").

Formulas that use dbt vars (mart_clv's lifespan, clv and contract_clv, mart_retention_
programmes' return_on_cost) are checked with the values the marts were built with, which the
build keeps in `marts.BUILD_VARS_RELATION` (the marts read them there). A warehouse that does
not record one (built before the build kept them) has those formulas listed as "not
checked" under their mart: neither a pass nor a failure, and no effect on the exit status.

Its outcome is kept for `retention publish`, which publishes only a working copy whose
current build passed (retention/validated.py): `<db>.validation` beside the database, naming
the build (meta.build_state). A validation of every mart keeps a pass or a failure; one of
some marts (`--mart`) keeps a failure only. The database itself is only read.

Exit status: 0 when every expectation and identity passes, 1 when any fails, 2 when the
database or a mart is missing (nothing is validated then). The database and its marts are
checked before Great Expectations is imported (which takes many seconds), so such a mistake
is reported at once.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from retention import console, shrink, validated
from retention.marts import (
    BUILD_VARS,
    BUILD_VARS_RELATION,
    BUSY_MEANING,
    EXIT_BUSY,
    KEYS,
    MARTS,
    SCHEMA,
    WarehouseError,
    build_identity,
    build_state_warning,
    open_built,
)
from retention.paths import add_db_argument, db_path
from retention.sql_text import sql_literal
from retention.working_copy import is_busy

EXAMPLES = 5  # unexpected values shown per failed expectation
PART_ROWS = 2_000_000  # a larger mart keyed by customer is validated in parts of about this size
MEMORY_LIMIT_ENV = "RETENTION_MEMORY_LIMIT"  # DuckDB's cap, as in profiles.yml (and its default)
DEFAULT_MEMORY_LIMIT = "3GiB"
SCRATCH = "validate_scratch"  # the attached scratch database the parts are read from
VOLUME_CHECK = "row count against the published warehouse"
ACROSS = "across marts"  # the result of the identities across marts (retention.consistency)
EXIT_CODES = {
    0: "every expectation passed (with a warning on stderr when rows were loaded after the "
    "last build, or the last dbt build did not complete: the marts may not be the data's)",
    1: "an expectation failed (the summary names the mart and the expectation), or an "
    "identity across marts does not hold (it names the marts)",
    2: "nothing validated: the database or a mart is missing, a --mart is unknown, the "
    "--baseline cannot be read or holds no marts, or DuckDB refused RETENTION_MEMORY_LIMIT "
    "or failed reading a mart (out of memory)",
    EXIT_BUSY: BUSY_MEANING,
}
# By SIGINT, SIGTERM or SIGHUP (cli.SIGNAL_CODES; cli.main says it): scratch_space's folder.
STOPPED = (
    "the warehouse is only read, and the scratch folder (DuckDB's spill files, the copies of "
    "the marts read in parts) is removed"
)


class ValidateError(Exception):
    """The warehouse cannot be validated (missing database or mart). The message says why;
    the command exits with `exit_code` (EXIT_BUSY when another process holds the file)."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


class NoMartsInBaseline(ValidateError):
    """The --baseline opens but holds no marts (loaded, never built): nothing to compare."""


@dataclass
class Failure:
    expectation: str
    detail: str


@dataclass
class MartResult:
    mart: str
    rows: int
    evaluated: int = 0
    passed: int = 0
    failures: list[Failure] = field(default_factory=list)
    # Formulas left out for want of the vars the mart was built with: (formula, why).
    not_checked: list[Failure] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_db_argument(parser)
    parser.add_argument(
        "--mart",
        action="append",
        default=None,
        metavar="NAME",
        help="validate only this mart (repeatable; default: every mart)",
    )
    shrink.add_arguments(parser, "a mart (against --baseline)")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="PATH",
        help="published warehouse to compare row counts with (volume check; default: none)",
    )


def run(args: argparse.Namespace) -> int:
    path = db_path(args)
    started = time.perf_counter()
    baseline = getattr(args, "baseline", None)
    compare = baseline is not None and not getattr(args, "allow_shrink", False)
    try:
        con, marts = open_marts(path, getattr(args, "mart", None))
        # Read before the (slow) suites, so that an unreadable baseline fails at once.
        before = baseline_counts(Path(baseline), marts) if compare else {}
    except ValidateError as exc:
        console.error("validate", str(exc))
        return exc.exit_code
    try:
        with con:
            build = build_identity(con)  # read on the marts' connection: the build validated
            results = validate_marts(con, marts)
            results.extend(check_across(con, marts))
    except duckdb.Error as exc:  # out of memory under a small cap, a full temporary folder
        console.error(
            "validate",
            f"DuckDB failed while reading the marts of {path}: {console.first_line(exc)}",
        )
        return 2
    check_volumes(results, before, getattr(args, "max_shrink", shrink.DEFAULT_MAX_SHRINK))
    seconds = time.perf_counter() - started
    console.show(summary(results, path, seconds), lambda: summary_view(results, path, seconds))
    passed = all(r.success for r in results)
    kept = Path(baseline) if compare else None  # the volume check's baseline, if it ran
    if problem := validated.record(path, build, passed, kept, every_mart=marts == list(MARTS)):
        console.warn(problem)
    # Marts that pass may still not be the data's: loaded since, or a build that stopped.
    stale = build_state_warning(path)
    if stale:
        console.warn(stale)
    return 0 if passed else 1


def memory_limit() -> str:
    """DuckDB's cap: RETENTION_MEMORY_LIMIT (default 3GiB), as the dbt profile reads it (set
    but empty is empty), once DuckDB has taken it on an empty in-memory database;
    ValidateError naming the variable when it does not (`junk`, empty, a stray quote), so
    that a typo is an error at once rather than a traceback."""
    limit = os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
    try:
        duckdb.connect(config={"memory_limit": limit}).close()
    except duckdb.Error as exc:
        raise ValidateError(
            f"{MEMORY_LIMIT_ENV}={limit!r} is not a memory size DuckDB takes "
            f"({console.first_line(exc)}): set it to a size such as {DEFAULT_MEMORY_LIMIT} or "
            "80%, or unset it"
        ) from exc
    return limit


def open_marts(
    db_path: Path, marts: list[str] | None = None
) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """A read-only connection to the database and the marts to validate (every mart, or the
    ones named), once it is checked that they all exist and that DuckDB takes the memory
    limit (without importing Great Expectations, so that a mistake is reported at once)."""
    _quiet()
    memory_limit()
    unknown = sorted(set(marts or ()) - set(MARTS))
    if unknown:
        raise ValidateError(f"unknown mart {', '.join(unknown)}; the marts: {', '.join(MARTS)}")
    wanted = [m for m in MARTS if m in marts] if marts else list(MARTS)
    try:
        con = open_built(Path(db_path), [f"{SCHEMA}.{m}" for m in wanted])
    except WarehouseError as exc:
        raise ValidateError(str(exc), exc.exit_code) from exc
    return con, wanted


def mart_parts(
    con: duckdb.DuckDBPyConnection, mart: str, scratch: Path
) -> tuple[int, int, Iterator[Callable[[], object]]]:
    """The mart's row count, the number of parts, and a reader per part: called, it returns
    the part as a DataFrame (a part of whole customers; the whole mart when it is small or
    not keyed by customer), so that the caller holds the only reference to it and can free
    it before reading the next. A part of a mart read in parts may be empty. A mart read in
    parts is first copied, with each row's part, into a database file in the folder
    `scratch`; the copy is dropped after its last part."""
    table = f'"{SCHEMA}"."{mart}"'
    ((rows,),) = con.execute(f"select count(*) from {table}").fetchall()
    by_customer = KEYS[mart][0] == "customer_id"
    parts = -(-rows // PART_ROWS) if by_customer and rows > PART_ROWS else 1

    def readers() -> Iterator[Callable[[], object]]:
        if parts == 1:
            yield lambda: con.sql(f"select * from {table}").df()
            return
        con.execute(
            f"attach if not exists '{scratch / 'parts.duckdb'}' as {SCRATCH} (read_only false)"
        )
        con.execute(
            f"create or replace table {SCRATCH}.parts as "
            f"select *, coalesce(hash(customer_id), 0) % {parts} as _part from {table} "
            "order by _part"
        )
        try:
            for part in range(parts):
                yield lambda part=part: con.execute(
                    f"select * exclude (_part) from {SCRATCH}.parts where _part = ?", [part]
                ).df()
        finally:
            con.execute(f"drop table if exists {SCRATCH}.parts")

    return rows, parts, readers()


def _quiet() -> None:
    """No usage analytics from GE; set before great_expectations is first imported.

    Also: Great Expectations imports PySpark when it is installed (`make setup-spark`), and
    PySpark, imported from a `__main__` without a file (`python -c`, a pytest-xdist worker),
    takes itself for a doctest run and exits the process with status 0 when its Connect
    extras are missing: a validation that silently passes. Such a `__main__` is given a
    placeholder file name first."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    main = sys.modules.get("__main__")
    file_less = getattr(main, "__spec__", None) is None and not hasattr(main, "__file__")
    if main is not None and file_less:
        main.__file__ = "<retention validate>"


@contextlib.contextmanager
def scratch_space(con: duckdb.DuckDBPyConnection) -> Iterator[Path]:
    """A temporary folder for the run: DuckDB spills there, capped at RETENTION_MEMORY_LIMIT
    (a read-only warehouse may sit where nothing can be written), and the copies of the
    marts read in parts live there (mart_parts). Removed, the copies detached, at the end."""
    with tempfile.TemporaryDirectory(prefix="retention-validate-") as folder:
        con.execute(f"set memory_limit = {sql_literal(memory_limit())}")
        con.execute(f"set temp_directory = {sql_literal(folder)}")
        try:
            yield Path(folder)
        finally:
            con.execute(f"detach database if exists {SCRATCH}")


def build_vars(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The vars of BUILD_VARS that the warehouse records (BUILD_VARS_RELATION, one row: the
    values its marts were built with), by name. A var it does not record (no such table or
    column: a warehouse built before the build kept it; a null) is left out."""
    schema, table = BUILD_VARS_RELATION.split(".")
    present = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }
    names = [name for name in BUILD_VARS if name in present]
    if not names:
        return {}
    rows = con.execute(f"select {', '.join(names)} from {BUILD_VARS_RELATION}").fetchall()
    if len(rows) != 1:
        return {}
    return {
        name: float(value) for name, value in zip(names, rows[0], strict=True) if value is not None
    }


def _unrecorded(missing: tuple[str, ...]) -> str:
    return (
        f"the warehouse does not record the {' and '.join(missing)} its marts were built "
        f"with (not in {BUILD_VARS_RELATION}: built before the build kept it there); "
        "rebuild the marts to check it"
    )


def validate_marts(con: duckdb.DuckDBPyConnection, marts: list[str]) -> list[MartResult]:
    """Run each mart's suite on its DataFrame (or on each of its parts) in one ephemeral GE
    context. On a terminal a progress bar counts the marts done."""
    _quiet()
    with (
        scratch_space(con) as scratch,
        warnings.catch_warnings(),
        console.progress("importing Great Expectations", total=len(marts)) as bar,
    ):
        warnings.simplefilter("ignore")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        from retention import expectations, identities

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        results = []
        values = build_vars(con)
        for mart in marts:
            rows, parts, readers = mart_parts(con, mart, scratch)
            unchecked: list[Failure] = []
            bar.update(f"validating {mart} ({rows:,} rows)")
            evaluated, problems = 0, []
            failures: dict[str, Failure] = {}  # by expectation: the first part it failed in
            for part, read in enumerate(readers, start=1):
                raw = read()
                if parts > 1 and not len(raw):
                    continue  # an empty part of a large mart (a small one is checked even empty)
                if parts > 1:
                    bar.update(f"validating {mart} ({rows:,} rows), part {part} of {parts}")
                columns = list(raw.columns)
                df, part_problems = identities.add_derived_columns(mart, raw, values)
                del raw  # df is a copy with the derived columns: one frame at a time
                problems.extend(p for p in part_problems if p not in problems)
                suite = expectations.suite_for(mart, columns, values)
                unchecked = [
                    Failure(text, _unrecorded(missing))
                    for text, missing in expectations.not_checked(mart, columns, values)
                ]
                # A data source of its own per frame: GE's pandas engine keeps every frame it
                # was given (and metrics computed on it) for as long as its data source lives.
                source = context.data_sources.add_pandas(f"{mart}_part_{part}")
                batch = (
                    source.add_dataframe_asset(name=mart)
                    .add_batch_definition_whole_dataframe(mart)
                    .get_batch(batch_parameters={"dataframe": df})
                )
                # A quick pass/fail first; details (unexpected values and the keys of their
                # rows) cost twice as much, so only the failed expectations run again for them.
                outcome = batch.validate(suite, result_format="BOOLEAN_ONLY")
                evaluated = len(outcome.results)
                failed = [
                    r.expectation_config
                    for r in outcome.results
                    if not r.success and _describe(r.expectation_config) not in failures
                ]
                if failed:
                    key = [c for c in expectations.KEYS[mart] if c in df.columns]
                    details = batch.validate(
                        gx.ExpectationSuite(name=f"{mart}_failed_{part}", expectations=failed),
                        result_format={
                            "result_format": "SUMMARY",
                            "partial_unexpected_count": EXAMPLES,
                            "unexpected_index_column_names": key,
                        },
                    ).results
                    where = f"in part {part} of {parts} (whole customers): " if parts > 1 else ""
                    for r in details:
                        failures[_describe(r.expectation_config)] = Failure(
                            _describe(r.expectation_config), where + _detail(r)
                        )
                context.data_sources.delete(source.name)
                del df, batch, outcome, source
            result = _mart_result(mart, rows, evaluated, list(failures.values()), problems)
            result.not_checked = unchecked
            results.append(result)
            bar.advance()
    return results


def check_across(con: duckdb.DuckDBPyConnection, marts: list[str]) -> list[MartResult]:
    """The identities across marts (retention.consistency) whose marts are all being
    validated, as one more result named ACROSS, one expectation per measure (none when no
    identity applies). A side that cannot be computed (a column missing or holding text,
    which the mart's suite reports too) fails its measures with DuckDB's words."""
    from retention import consistency

    identities = consistency.applicable(marts)
    if not identities:
        return []
    result = MartResult(mart=ACROSS, rows=0)
    for identity in identities:
        try:
            found = consistency.compare(con, identity, EXAMPLES)
        except (duckdb.BinderException, duckdb.CatalogException, duckdb.ConversionException) as exc:
            found = {m: f"error: {console.first_line(exc)}" for m in identity.measures}
        for measure, disagreement in found.items():
            result.evaluated += 1
            if isinstance(disagreement, str):
                result.failures.append(Failure(identity.name(measure), disagreement))
            elif disagreement.differing:
                detail = _disagreement(identity, disagreement)
                result.failures.append(Failure(identity.name(measure), detail))
            else:
                result.passed += 1
    return [result]


def _disagreement(identity, found) -> str:
    """'2 of 9 keys differ, e.g. basis=contract, …: mart_churn 2, fct_periods 1; …'."""
    left, right = identity.left.named, identity.right.named

    def value(v: object) -> str:
        if v is None or v != v:  # NaN: no row, or a null, on that side
            return "missing"
        return _short(int(v) if float(v).is_integer() else v)

    shown = "; ".join(
        (f"{_row(key)}: " if key else "") + f"{left} {value(lv)}, {right} {value(rv)}"
        for key, lv, rv in found.examples
    )
    return f"{found.differing} of {found.keys} keys differ, e.g. {shown}"


def baseline_counts(baseline: Path, marts: list[str]) -> dict[str, int]:
    """Row counts of the marts in the baseline warehouse. A baseline that is not there, or
    holds no marts at all (NoMartsInBaseline), is an error, not a pass: a mistyped path would
    turn the volume check off without a word (`retention build` passes none on the first
    build of the marts, when nothing built is published yet). A mart that only this build
    has is not compared."""
    if not baseline.is_file():
        raise ValidateError(f"no baseline warehouse at {baseline} (--baseline names a file)")
    try:
        with duckdb.connect(str(baseline), read_only=True) as con:
            present = {
                name
                for (name,) in con.execute(
                    "select table_name from information_schema.tables where table_schema = ?",
                    [SCHEMA],
                ).fetchall()
            }
            if not present & set(MARTS):
                raise NoMartsInBaseline(
                    f"the baseline {baseline} holds no marts (loaded but never built?): the "
                    "volume check would compare nothing; give the published warehouse, or "
                    "leave --baseline out when no built warehouse is published yet"
                )
            return {
                mart: con.execute(f'select count(*) from "{SCHEMA}"."{mart}"').fetchone()[0]
                for mart in marts
                if mart in present
            }
    except duckdb.Error as exc:
        busy = EXIT_BUSY if is_busy(str(exc)) else 2
        raise ValidateError(f"cannot read the baseline {baseline}: {exc}", busy) from exc


def shrink_problem(before: int, after: int, max_shrink: float) -> str | None:
    """Why a mart that went from `before` to `after` rows shrank too much (None when it did
    not)."""
    too_far = shrink.shrinkage(before, after, max_shrink)
    if too_far is None:
        return None
    return (
        f"{after:,} rows, {before:,} in the published warehouse: {too_far}; a partial or "
        "empty delivery? Pass --allow-shrink if the shrink is intended"
    )


def check_volumes(results: list[MartResult], before: dict[str, int], max_shrink: float) -> None:
    """Add the volume check to every mart with a row count in the baseline (`before`); it
    fails when the mart shrank too much."""
    for result in results:
        if result.mart not in before:
            continue
        result.evaluated += 1
        problem = shrink_problem(before[result.mart], result.rows, max_shrink)
        if problem is None:
            result.passed += 1
        else:
            result.failures.append(Failure(VOLUME_CHECK, problem))


def _mart_result(
    mart: str, rows: int, evaluated: int, failed: list[Failure], problems: list[str]
) -> MartResult:
    result = MartResult(mart=mart, rows=rows, evaluated=evaluated, passed=evaluated - len(failed))
    result.failures.extend(Failure("derived column", p) for p in problems)
    result.failures.extend(failed)
    return result


def _describe(config) -> str:
    kwargs = {
        k: v
        for k, v in config.kwargs.items()
        if k not in ("batch_id", "condition_parser", "result_format") and v is not None
    }
    if isinstance(kwargs.get("row_condition"), dict):
        kwargs["row_condition"] = kwargs["row_condition"].get("pass_through_filter")
    if isinstance(kwargs.get("column_set"), list) and len(kwargs["column_set"]) > 6:
        kwargs["column_set"] = f"<{len(kwargs['column_set'])} documented columns>"
    args = ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items())
    text = f"{config.type}({args})"
    if config.description:
        text += f" — {config.description}"
    return text


def _detail(r) -> str:
    messages = _exception_messages(r.exception_info or {})
    if messages:
        return "error: " + "; ".join(sorted(set(messages)))
    res = r.result or {}
    if "unexpected_count" in res:
        examples = res.get("partial_unexpected_index_list") or [
            {"value": v} for v in res.get("partial_unexpected_list", [])
        ]
        shown = "; ".join(_row(e) for e in examples[:EXAMPLES])
        count = res["unexpected_count"]
        total = res.get("element_count")
        of = f" of {total}" if total is not None else ""
        return f"{count}{of} rows unexpected, e.g. {shown}" if shown else f"{count}{of} unexpected"
    if res.get("partial_missing_list"):  # a set of values the column should contain
        return f"missing values: {', '.join(map(_short, res['partial_missing_list']))}"
    if "observed_value" in res:
        details = res.get("details") or {}
        mismatched = details.get("mismatched") if isinstance(details, dict) else None
        if isinstance(mismatched, dict) and mismatched.get("missing"):
            return f"missing columns: {', '.join(map(str, mismatched['missing']))}"
        return f"observed {_short(res['observed_value'])}"
    return "failed"


def _exception_messages(info: dict) -> list[str]:
    """GE reports an error at the expectation level or per metric; collect either."""
    candidates = [info, *(v for v in info.values() if isinstance(v, dict))]
    return [
        str(c["exception_message"]).splitlines()[0]
        for c in candidates
        if c.get("exception_message")
    ]


def _row(example: dict) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in example.items())


def _short(value: object) -> str:
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        with contextlib.suppress(TypeError, ValueError):
            value = value.item()
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        value = value.date()  # DuckDB dates arrive in pandas as midnight timestamps
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def summary(results: list[MartResult], db_path: Path, seconds: float) -> str:
    lines = [f"Great Expectations on {db_path}"]
    for r in results:
        failed = r.evaluated - r.passed
        mark = "ok  " if r.success else "FAIL"
        if r.mart == ACROSS:
            counted = f"{r.passed}/{r.evaluated} identities hold, {failed} failed"
        else:
            counted = f"{r.passed}/{r.evaluated} expectations passed, {failed} failed "
            counted += f"({r.rows:,} rows)"
        lines.append(f"{mark} {r.mart}: {counted}")
        for f in r.failures:
            lines.append(f"     failed: {f.expectation}")
            lines.append(f"             {f.detail}")
        for f in r.not_checked:
            lines.append(f"     not checked: {f.expectation}")
            lines.append(f"             {f.detail}")
    lines.append(_verdict(results, seconds))
    return "\n".join(lines)


def _verdict(results: list[MartResult], seconds: float) -> str:
    """'all marts pass (15/15 marts, 30/30 identities across marts, 6.1 s)', or how many
    marts fail and how many identities across marts do not hold."""
    marts = [r for r in results if r.mart != ACROSS]
    ok = sum(r.success for r in marts)
    verdict = "all marts pass" if ok == len(marts) else f"{len(marts) - ok} mart(s) fail"
    counts = [f"{ok}/{len(marts)} marts"]
    for r in results:
        if r.mart == ACROSS:
            counts.append(f"{r.passed}/{r.evaluated} identities across marts")
            if not r.success:
                verdict += f", {r.evaluated - r.passed} identities across marts do not hold"
    if unchecked := sum(len(r.not_checked) for r in results):
        counts.append(f"{unchecked} formula(s) not checked")
    return f"{verdict} ({', '.join(counts)}, {seconds:.1f} s)"


def summary_view(results: list[MartResult], db_path: Path, seconds: float) -> list[object]:
    """The summary as rich renderables for a terminal: a table of the marts, then every
    failure, then the verdict (the same facts as `summary`)."""
    from rich.text import Text

    rows = [
        (
            Text("ok", style="green") if r.success else Text("FAIL", style="bold red"),
            r.mart,
            "" if r.mart == ACROSS else f"{r.rows:,}",
            f"{r.passed}/{r.evaluated}",
            r.evaluated - r.passed,
        )
        for r in results
    ]
    view: list[object] = [
        console.table(
            ["", "mart", "rows", "passed", "failed"],
            rows,
            title=f"Great Expectations on {db_path}",
            numeric={"rows", "passed", "failed"},
        )
    ]
    for r in results:
        for f in r.failures:
            view.append(Text.assemble((f"{r.mart}: ", "bold"), f.expectation))
            view.append(Text("    " + f.detail))
        for f in r.not_checked:
            view.append(
                Text.assemble((f"{r.mart}: ", "bold"), ("not checked: ", "yellow"), f.expectation)
            )
            view.append(Text("    " + f.detail))
    style = "green" if all(r.success for r in results) else "bold red"
    view.append(Text(_verdict(results, seconds), style=style))
    return view
