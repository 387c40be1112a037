"""The `retention` command: one sub-command per module.

Each sub-command lives in its own module (``retention/<name>.py``) that exposes
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported lazily so that
``retention --help`` stays fast and a broken optional dependency only breaks its own command.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "generate": "write a synthetic raw data set (one file per raw table)",
    "load": "load raw CSV/Parquet files into the raw schema of the DuckDB database",
    "validate": "run the Great Expectations suites against the built warehouse",
    "bench": "run the performance benchmark",
    "build": "the daily pipeline: load, dbt build, validate, publish",
    "summary": "print the headline metrics of a built warehouse",
    "publish": "atomically publish a built working copy of the warehouse",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retention", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = _module(name)
        if module is None:
            continue
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(cmd)
    return parser


def _module(name: str):
    try:
        return importlib.import_module(f"retention.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"retention.{name}":
            return None  # command not built yet
        raise


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(_module(args.command).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
