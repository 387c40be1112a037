"""`retention build`: the daily pipeline in one command — load, dbt build, validate, publish.

    retention build [--data DIR] [--db PATH] [--vars YAML] [--full-refresh] [--no-validate]

1. load DIR into the working copy (skipped without --data: the working copy's raw data is
   used as it is);
2. `dbt build` (models, data tests, unit tests) on the working copy;
3. `retention validate` (Great Expectations) on the working copy;
4. publish the working copy atomically over the published warehouse.

Any failing step stops the pipeline and leaves the published warehouse as it was. Exit
codes: 0 published; 2 the data was refused by `load`; 3 `dbt build` failed; 4 validation
failed; 5 publishing failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from retention.load import add_mode_arguments
from retention.paths import REPO_ROOT, default_db_path
from retention.publish import PublishError, publish, working_copy_path

EXIT_LOAD, EXIT_DBT, EXIT_VALIDATE, EXIT_PUBLISH = 2, 3, 4, 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help="raw files to load first")
    add_mode_arguments(parser)  # how --data is loaded (retention/load.py)
    parser.add_argument(
        "--db", type=Path, default=None, help="published warehouse (default: RETENTION_DB_PATH)"
    )
    parser.add_argument("--vars", default=None, help="dbt vars as YAML, passed to dbt build")
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    parser.add_argument("--no-validate", action="store_true", help="skip Great Expectations")


def _say(message: str) -> None:
    print(f"retention build: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    published = Path(args.db or default_db_path()).resolve()
    work = working_copy_path(published).resolve()
    if not work.exists() and published.exists():
        _say(f"starting the working copy from the published warehouse {published}")
        shutil.copyfile(published, work)

    if args.data is not None:
        from retention.load import LoadError, load_dir

        _say(f"1/4 load {args.data} -> {work}")
        try:
            load_dir(
                args.data,
                work,
                replace=args.replace,
                force=args.force,
                allow_shrink=args.allow_shrink,
                max_shrink=args.max_shrink,
                progress=lambda m: print(m, file=sys.stderr),
            )
        except LoadError as exc:
            print(f"retention build: load refused: {exc}", file=sys.stderr)
            return EXIT_LOAD
    else:
        _say("1/4 load skipped (no --data): building on the working copy's raw data")

    _say(f"2/4 dbt build -> {work}")
    command = [str(Path(sys.executable).with_name("dbt")), "build"]
    if args.vars:
        command += ["--vars", args.vars]
    if args.full_refresh:
        command.append("--full-refresh")
    env = dict(
        os.environ,
        RETENTION_DB_PATH=str(work),
        DBT_PROFILES_DIR=str(REPO_ROOT),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    if subprocess.run(command, cwd=REPO_ROOT, env=env, check=False).returncode != 0:
        _say(f"dbt build failed; the published warehouse {published} is unchanged")
        return EXIT_DBT

    if not args.no_validate:
        from retention import validate

        _say("3/4 validate (Great Expectations)")
        code = validate.run(argparse.Namespace(db=work, mart=None))
        if code != 0:
            _say(f"validation failed; the published warehouse {published} is unchanged")
            return EXIT_VALIDATE
    else:
        _say("3/4 validate skipped (--no-validate)")

    _say(f"4/4 publish -> {published}")
    try:
        publish(work, published, progress=_say)
    except PublishError as exc:
        _say(f"publish failed: {exc}")
        return EXIT_PUBLISH
    return 0
