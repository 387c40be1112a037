"""The outcome of `retention validate` for the build it validated, for `retention publish`.

`retention validate` keeps its outcome in a small JSON file beside the database it validated,
`<db>.validation` (the file a symbolic link names: `record_path`), written whole by a rename.
The record names the build it belongs to: `marts.build_identity`, meta.build_state's state
and the time that row was written. Every `retention load` and every dbt run that writes
models writes that row anew, so a record is void as soon as the data may have changed, and
`retention publish` then refuses the working copy as if it had never been validated.

A validation of every mart records its outcome, passed or failed; one of some marts only
(`--mart`) records a failure but not a pass (the other marts were not checked), so it never
turns a failed validation into a passed one. The database itself is not written: validate
opens it read-only, beside BI readers and in folders the warehouse may only be read from.
A record that cannot be written (a read-only folder) is a warning, not a failed validation.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from contextlib import suppress
from pathlib import Path

SUFFIX = ".validation"


def record_path(db: Path) -> Path:
    """`<db>.validation`, beside the file `db` names (through a symbolic link)."""
    db = Path(db).resolve()
    return db.with_name(db.name + SUFFIX)


def record(
    db: Path, build: str | None, passed: bool, baseline: Path | None, *, every_mart: bool
) -> str | None:
    """Keep the outcome of a validation of `db` at `build` (marts.build_identity); a warning
    when it cannot be written, else None. Nothing is kept for a database with no build, nor
    for a pass of some marts only (`every_mart` false): the others were not checked."""
    if build is None or (passed and not every_mart):
        return None
    path = record_path(db)
    content = {
        "build": build,
        "passed": passed,
        "validated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "baseline": None if baseline is None else str(Path(baseline).absolute()),
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        partial.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
        return (
            f"warning: cannot record the outcome of this validation in {path}: {exc.strerror}; "
            "`retention publish` will take the database for unvalidated"
        )
    return None


def problem(db: Path, build: str | None) -> str | None:
    """Why `db`, holding `build`, has no passing validation of that build (a phrase: "was
    never validated"), or None when its last validation of `build` passed."""
    path = record_path(db)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "was never validated"
    except (OSError, ValueError) as exc:
        return f"has a validation record {path} that cannot be read ({exc})"
    if not isinstance(content, dict) or build is None or content.get("build") != build:
        return "was changed (a dbt build or a load) since it was last validated"
    if content.get("passed") is not True:
        return f"failed its last validation ({content.get('validated_at')})"
    return None
