"""The `retention` command: one sub-command per module.

Each sub-command lives in its own module (``retention/<name>.py``) that exposes
``add_arguments(parser)``, ``run(args) -> int`` and ``EXIT_CODES`` (exit code -> meaning,
listed under the command's ``--help`` with SIGNAL_CODES, which every command shares), and,
when a signal that stops it leaves something to say (what was rolled back or removed),
``STOPPED``, said with those codes. Heavy dependencies (Great Expectations, dbt) are
imported only when a command runs, so that ``retention --help`` stays fast and a broken
optional dependency only breaks its own command.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import importlib.metadata
import importlib.util
import os
import signal
import sys
import textwrap
from pathlib import Path
from typing import NoReturn

from retention import console, paths, signals

DISTRIBUTION = "retention-warehouse"  # the package name in pyproject.toml
DESCRIPTION = (
    "The retention warehouse's command line: generate or load raw data, build, validate and "
    "publish the warehouse, print its headline metrics, benchmark it."
)

# In the order of docs/commands.md: the daily pipeline, its steps, then the rest.
COMMANDS = {
    "build": "the daily pipeline: load, dbt build, validate, publish",
    "load": "load raw CSV/Parquet files into the raw schema of the DuckDB database",
    "validate": "run the Great Expectations suites against the built warehouse",
    "publish": "atomically publish a built and validated working copy of the warehouse",
    "summary": "print the headline metrics of a built warehouse",
    "holdout": (
        "the BG/NBD's predicted against actual purchases after the reporting date A (or on CDNOW)"
    ),
    "diff": "compare the marts of two built warehouses (base branch and PR), as markdown",
    "generate": "write a synthetic raw data set (one file per raw table)",
    "bench": "run the performance benchmark",
}

# The commands that can start a new warehouse in their --db (the others only read one).
STARTS_A_WAREHOUSE = {"build", "load", "publish"}

INTERRUPTED = 128 + signal.SIGINT  # 130, the shell's code for Ctrl-C
USAGE_ERROR = 2  # argparse's code for invalid arguments

# The exit codes of every command that a signal stopped: 128 + the signal's number, as a
# shell reports a command a signal killed. SIGINT, SIGTERM and SIGHUP stop every command with
# these codes and one line: a command that cleans up (its own signals.stoppable) says what
# is left, and main() says the others' (the commands that only read) in these words. A closed
# output pipe is cli.main's (console.BROKEN_PIPE). Listed under every command's --help; a
# module's STOPPED is added to SIGINT's meaning, and SIGTERM's and SIGHUP's refer to it.
SIGNAL_CODES = {
    128 + signal.SIGHUP: "stopped by SIGHUP (its terminal was closed)",
    INTERRUPTED: "interrupted by SIGINT (Ctrl-C)",
    console.BROKEN_PIPE: "its output pipe was closed by its reader (piped into head) before "
    "it finished writing: it stopped there, quietly (SIGPIPE)",
    128 + signal.SIGTERM: "stopped by SIGTERM (an orchestrator's stop)",
}

QUIET_HELP = (
    "no progress bars or progress messages (the bars are also off when stderr is not a "
    "terminal); build shows dbt's errors only"
)


def version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # run from a source tree not installed
        return "unknown"


def exit_codes(module: object) -> dict[int, str]:
    """The exit codes of a command's module with those every command shares: 2 for invalid
    arguments too, and SIGNAL_CODES with what the module says a stop leaves (STOPPED)."""
    codes = dict(module.EXIT_CODES)
    if shared := sorted(codes.keys() & SIGNAL_CODES.keys()):
        raise ValueError(
            f"{module.__name__}.EXIT_CODES lists {shared}, which SIGNAL_CODES defines for every "
            "command: say what a stop leaves in STOPPED"
        )
    codes[2] = f"{codes[2]}; also invalid arguments" if 2 in codes else "invalid arguments"
    codes.update(SIGNAL_CODES)
    if stopped := getattr(module, "STOPPED", None):
        codes[INTERRUPTED] = f"{codes[INTERRUPTED]}: {stopped}"
        for signum in (signal.SIGTERM, signal.SIGHUP):
            codes[128 + signum] = f"{codes[128 + signum]}, as for {INTERRUPTED}"
    return dict(sorted(codes.items()))


def epilog(codes: dict[int, str]) -> str:
    lines = ["exit codes:"]
    for code, meaning in sorted(codes.items()):
        lines += textwrap.wrap(  # an option's name is never cut at its hyphen
            meaning,
            width=78,
            initial_indent=f"  {code:<4}",
            subsequent_indent=" " * 6,
            break_on_hyphens=False,
        )
    return "\n".join(lines)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, none of which takes an abbreviated option (`--d` for
    `--db`: an abbreviation that names one option today names another, or none, once an
    option is added). With `only` (a command's name, or "" for none), only that
    command's module is imported and its options added: the others are listed with their
    help line alone, so a run does not pay every command's imports (pandas alone costs
    seconds)."""
    parser = argparse.ArgumentParser(
        prog="retention",
        allow_abbrev=False,
        description=DESCRIPTION,
        epilog="Every command's --help lists its options and its exit codes, with those all "
        "commands share: 2 also for invalid arguments, and 128 + the number of a signal that "
        "stopped the command: "
        + ", ".join(f"{code} {signal.Signals(code - 128).name}" for code in sorted(SIGNAL_CODES))
        + ".",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.set_defaults(command_parsers={})
    for name, help_text in COMMANDS.items():
        if only is not None and name != only:
            if _module_exists(name):
                sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
            continue
        module = _module(name)
        if module is None:
            continue
        cmd = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=epilog(exit_codes(module)),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        module.add_arguments(cmd)
        parser.get_default("command_parsers")[name] = cmd
        # Also accepted after the command; SUPPRESS keeps a --quiet given before it.
        cmd.add_argument(
            "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=QUIET_HELP
        )
    return parser


def _refuse_unknown(parser: argparse.ArgumentParser, unknown: list[str]) -> NoReturn:
    """argparse's error for arguments the command does not take, from the command's own
    parser (its usage line lists its options), with the nearest option to a mistyped one:
    every option an abbreviation begins (`--max` for `--max-shrink`), else difflib's."""
    options = [name for action in parser._actions for name in action.option_strings]

    def nearest(given: str) -> list[str]:
        begun = [option for option in options if option.startswith(given)]
        return begun or difflib.get_close_matches(given, options, n=1, cutoff=0.6)

    near = [
        f"{given}: did you mean {' or '.join(match)}?"
        for arg in unknown
        if arg.startswith("--")
        and arg != "--"  # argparse's end of the options, not an option
        and (match := nearest(given := arg.split("=", 1)[0]))
    ]
    parser.error(f"unrecognized arguments: {' '.join(unknown)}" + "".join(f" ({n})" for n in near))


def _module(name: str):
    try:
        return importlib.import_module(f"retention.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"retention.{name}":
            return None  # command not built yet
        raise


def _command(argv: list[str]) -> str | None:
    """The command argv names ("" when none: --help, --version), or None when argv names
    something else (argparse then reports it with every command's parser)."""
    for arg in argv:
        if arg in ("-q", "--quiet"):
            continue
        if arg.startswith("-"):
            return "" if arg in ("-h", "--help", "--version") else None
        return arg if arg in COMMANDS else None
    return ""


def _module_exists(name: str) -> bool:
    return importlib.util.find_spec(f"retention.{name}") is not None


def _warehouse_files(args: argparse.Namespace) -> list[Path]:
    """The DuckDB files a command opens as a warehouse: --db, --baseline and, for `build`,
    its working copy. (`retention diff --base` attaches both files under aliases.)"""
    if not hasattr(args, "db"):
        return []
    files = [paths.db_path(args)]
    if getattr(args, "baseline", None) is not None:
        files.append(Path(args.baseline))
    if args.command == "build":
        from retention.working_copy import working_copy_path

        files.append(working_copy_path(files[0]))
    return files


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    console.tolerate_encodings()
    parser = build_parser(only=_command(argv))
    if all(arg in ("-q", "--quiet") for arg in argv):
        # No command: the list of commands, not argparse's one line naming COMMAND.
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    first = next((arg for arg in argv if arg not in ("-q", "--quiet")), "")
    if first.startswith("--") and first not in ("--", "--help", "--version"):
        # An option of `retention` itself that it does not take (`--vers`): argparse would
        # only say that COMMAND is missing.
        _refuse_unknown(parser, [first])
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # argparse named no command and printed the usage of `retention` alone
        _refuse_unknown(args.command_parsers.get(args.command, parser), unknown)
    console.set_quiet(args.quiet)
    # Every command that opens the warehouse takes --db (paths.add_db_argument): a file
    # whose name DuckDB would take for a schema's is refused before anything is opened, and
    # so is such a --baseline or working copy (RETENTION_WORK_DB_PATH).
    creates = args.command in STARTS_A_WAREHOUSE
    if hasattr(args, "db") and (problem := paths.db_path_problem(args, creates=creates)):
        console.error(args.command, problem)
        return USAGE_ERROR
    for path in _warehouse_files(args):
        if problem := paths.backslash_problem(path) or paths.db_name_problem(path):
            console.error(args.command, problem)
            return USAGE_ERROR
    # The other warehouse files a command opens (DuckDB reads a backslash in them as a
    # folder separator too): `diff --base` and `publish --from`.
    for path in (getattr(args, "base", None), getattr(args, "source", None)):
        if path is not None and (problem := paths.backslash_problem(path)):
            console.error(args.command, problem)
            return USAGE_ERROR
    # Every command runs inside signals.stoppable(), so that SIGTERM and SIGHUP (which would
    # otherwise end a command that only reads without a word: 143 or 129 in a shell, -15 or
    # -1 to Python's subprocess) stop it as they stop the others: `finally` blocks run
    # (validate's scratch folder is removed) and one line says what stopped it. A command
    # that cleans up after a stop has a stoppable() of its own inside this one, and says
    # itself what the stop left. The line is said once the handlers are restored.
    again = None
    with signals.stoppable() as received:
        try:
            code = int(_module(args.command).run(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
        except BrokenPipeError:
            # The reader of stdout went away (`retention summary | head -1`, `| true`): stop
            # quietly with the shell's code for SIGPIPE, as a command killed by it would, not
            # a traceback and 1 (which `validate` and `diff --exit-code` give a meaning).
            with contextlib.suppress(OSError, ValueError):  # Python's own flush at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return console.BROKEN_PIPE
        except BaseException as exc:
            # During a DuckDB query the signal reaches the command as DuckDB's RuntimeError
            # "Query interrupted" in place of Interrupted: signal_of names it.
            signum = received.signum or signals.signal_of(exc, received)
            if signum is None:
                raise
            if isinstance(exc, signals.Interrupted) and received.signum is None:
                # Not this stoppable's: the command's own took the signal that stopped it
                # and cleaned up, and a second signal during that clean-up reaches here.
                again = exc
        else:
            # Stopped, or it went on after the signal (a library took DuckDB's "Query
            # interrupted" for an ordinary error) and finished, though it was asked to stop.
            signum = received.signum
    if again is not None:
        console.error(
            args.command,
            f"stopped by {again.name} again while cleaning up after an earlier stop, so the "
            "clean-up may be incomplete: run the same command again",
        )
    elif signum is None:
        return code
    else:
        console.error(args.command, SIGNAL_CODES[128 + signum])
    return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
