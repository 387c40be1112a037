"""`make slim-ci`'s production inputs, checked before anything is copied (docs/ci.md).

`python -m retention.slim_ci STATE DB` prints the database name of the models of the
production manifest `STATE/manifest.json` (the name the copy of the production warehouse
`DB` takes, so that relations keep their production names: docs/decisions.md), or says in
one line on stderr why the inputs cannot be used and exits 2: no manifest, a file that is
not a dbt manifest, holds no models or was written by a dbt newer than this checkout's, no
warehouse, or one that this checkout's DuckDB
cannot open (not a DuckDB file, a newer DuckDB's storage, locked). Without the check dbt
failed on the copy with a traceback that named the copy, not PROD_DB.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

from retention import console
from retention.marts import WarehouseError, open_read_only

EXIT_REFUSED = 2


class SlimCiError(Exception):
    """The production inputs cannot be used. The message says why."""


def production_database(state: str, db: str) -> str:
    """The database of the production manifest's models in `state`, after checking that the
    warehouse `db` opens."""
    manifest = Path(state) / "manifest.json"
    if not state or not manifest.is_file():
        raise SlimCiError(
            "PROD_STATE=DIR must be the folder of the production run's manifest.json "
            f"(got '{state}')"
        )
    if not db or not Path(db).is_file():
        raise SlimCiError(f"PROD_DB=FILE must be the production warehouse (got '{db}')")
    try:
        content = json.loads(manifest.read_text(encoding="utf-8"))
        metadata = content.get("metadata", {})
        nodes = content["nodes"].values()
        databases = collections.Counter(
            node["database"] for node in nodes if node.get("resource_type") == "model"
        )
    except (OSError, ValueError, LookupError, TypeError, AttributeError) as exc:
        raise SlimCiError(
            f"PROD_STATE: {manifest} is not a dbt manifest ({console.first_line(exc)})"
        ) from exc
    _check_schema_version(manifest, metadata)
    if not databases:
        raise SlimCiError(f"PROD_STATE: {manifest} holds no models: give the production run's")
    try:
        open_read_only(Path(db)).close()
    except WarehouseError as exc:
        raise SlimCiError(f"PROD_DB=FILE must be the production warehouse: {exc}") from exc
    return databases.most_common(1)[0][0]


def _check_schema_version(manifest: Path, metadata: object) -> None:
    """A manifest this checkout's dbt cannot read (one from a newer dbt) stopped dbt with
    "Expected a schema version ..." only after production had been copied and the project
    parsed; dbt's own test of the version, before that."""
    from dbt.artifacts.schemas.manifest import WritableManifest
    from dbt.version import __version__

    found = metadata.get("dbt_schema_version") if isinstance(metadata, dict) else None
    if found is not None and not WritableManifest.is_compatible_version(found):
        written_by = metadata.get("dbt_version") or "another dbt"
        raise SlimCiError(
            f"PROD_STATE: {manifest} was written by dbt {written_by} ({found}), which this "
            f"checkout's dbt {__version__} cannot read: compare with a manifest of production "
            "built with the dbt of this branch's uv.lock"
        )


def main(argv: list[str]) -> int:
    try:
        state, db = argv
        print(production_database(state, db))
    except ValueError:
        print("usage: python -m retention.slim_ci STATE DB", file=sys.stderr)
        return EXIT_REFUSED
    except SlimCiError as exc:
        print(f"make slim-ci: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
