"""Console output shared by the `retention` commands: live progress on a terminal, plain
lines in logs.

A command writes three kinds of output:

- its **result** (a table, a summary) on stdout. `show(plain, view)` prints the rich
  `view` when stdout is a terminal and the `plain` text otherwise (a pipe, a file, an
  orchestrator's log), so scripts and logs get stable lines without escape codes;
- **progress** (a bar or spinner with the elapsed time) on stderr, only when stderr is a
  terminal and `--quiet` was not given: `progress()`. Nothing at all otherwise;
- **messages** on stderr as plain lines: `say` (what is being done; silenced by `--quiet`),
  `warn` and `error` (always printed).

`retention --quiet COMMAND` (or `COMMAND --quiet`) calls `set_quiet(True)` before the
command runs. In a command module::

    from retention import console

    with console.progress("loading", total=len(files)) as bar:
        for file in files:
            bar.update(f"loading {file.name}")
            ...                                  # no subprocess writing to the terminal here
            bar.advance()
    console.say(f"retention load: loaded {rows:,} rows")
    console.show(plain_text, lambda: console.table(["table", "rows"], rows, numeric={"rows"}))

While a bar is shown, lines printed on stderr (and on stdout when it is the terminal too)
appear above it; a subprocess that writes to the terminal itself would garble it, so run
those outside `progress()` or capture their output.
"""

from __future__ import annotations

import codecs
import contextlib
import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import IO, Any

_state = {"quiet": False}


# The exit code of a command whose stdout's reader went away (`| head`): the shell's code for
# SIGPIPE (128 + 13), as a command killed by it would give.
BROKEN_PIPE = 141


# The characters of results and messages (diff's arrows, the summary's dash, the formulas'
# minus signs and ellipses, a table's rules) spelt in ASCII, for an output whose encoding
# lacks them; any other such character is "?".
ASCII_SPELLING = {
    "\u2192": "->", "\u2014": "-", "\u2013": "-", "\u2212": "-", "\u00d7": "x",
    "\u2264": "<=", "\u2265": ">=", "\u2026": "...", "\u2502": "|", "\u00a7": "S",
}  # fmt: skip
ENCODING_ERRORS = "retention-ascii"


def _spelt_in_ascii(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    lacking = error.object[error.start : error.end]
    return "".join(ASCII_SPELLING.get(char, "?") for char in lacking), error.end


codecs.register_error(ENCODING_ERRORS, _spelt_in_ascii)


def tolerate_encodings() -> None:
    """Make stdout and stderr write what their encoding lacks in ASCII (`->` for an arrow)
    rather than fail: in a locale that is not UTF-8 (latin-1, a Windows console) `retention
    diff` stopped at its first arrow with a UnicodeEncodeError traceback and exit 1, the
    code of a difference or a failed check. Streams in UTF-8 are left as they are."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        try:
            utf8 = encoding is not None and codecs.lookup(encoding).name == "utf-8"
        except LookupError:
            utf8 = False
        if not utf8 and hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):  # a closed stream
                stream.reconfigure(errors=ENCODING_ERRORS)


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (DuckDB adds hints and context below it), or its
    type's name when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def counted(number: int, noun: str) -> str:
    """`1 row`, `2 rows`, `1,000 rows`."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def points(change: float, unit: str = " pp") -> str:
    """A change of a rate (a fraction) in percentage points to one decimal, signed: +1.2 pp,
    -0.4 pp; 0.0 pp, unsigned, for a change that rounds to zero (never -0.0 pp). The
    summary's table passes unit="pp" to keep each value one word."""
    text = f"{change * 100:+.1f}"
    return ("0.0" if float(text) == 0 else text) + unit


def set_quiet(quiet: bool) -> None:
    """No progress and no `say` messages (warnings, errors and results still print)."""
    _state["quiet"] = bool(quiet)


def is_quiet() -> bool:
    return _state["quiet"]


def is_terminal(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def shows_progress() -> bool:
    """Whether `progress()` draws anything: stderr is a terminal and not --quiet."""
    return not is_quiet() and is_terminal(sys.stderr)


def say(message: str) -> None:
    """A progress message on stderr (not with --quiet)."""
    if not is_quiet():
        print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """A warning on stderr, also with --quiet."""
    print(message, file=sys.stderr, flush=True)


def error(command: str, message: str) -> None:
    """``retention COMMAND: error: MESSAGE`` on stderr."""
    print(f"retention {command}: error: {message}", file=sys.stderr, flush=True)


class Bar:
    """One task in a progress display; every method does nothing when progress is off."""

    def __init__(self, progress: Any = None, task: Any = None) -> None:
        self._progress = progress
        self._task = task

    def update(
        self, description: str | None = None, *, total: float | None = None, **fields: Any
    ) -> None:
        """Change what the bar says (and its total)."""
        if self._progress is None:
            return
        changes: dict[str, Any] = dict(fields)
        if description is not None:
            changes["description"] = description
        if total is not None:
            changes["total"] = total
        self._progress.update(self._task, **changes)

    def advance(self, steps: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, steps)


@contextlib.contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Bar]:
    """A progress bar on stderr for the duration of the block (a spinner while `total` is
    None), removed when the block ends; a Bar that does nothing when progress is off."""
    if not shows_progress():
        yield Bar()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(
        *columns,
        console=Console(file=sys.stderr, force_terminal=True),
        transient=True,
        # Lines printed to stdout go above the bar only when stdout is that terminal too:
        # redirected, they must stay in their file.
        redirect_stdout=is_terminal(sys.stdout),
        redirect_stderr=True,
    ) as display:
        yield Bar(display, display.add_task(description, total=total))


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str | None = None,
    numeric: Collection[str] = (),
    caption: str | None = None,
) -> Any:
    """A rich table (for `show`); the `numeric` columns are right-aligned. A cell is printed
    as text (rich markup is not interpreted) unless it is a rich Text already."""
    from rich.table import Table
    from rich.text import Text

    view = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for column in columns:
        view.add_column(column, justify="right" if column in numeric else "left")
    for row in rows:
        # Text, not markup: values such as "['basis', 'period_grain']" must print as they are.
        view.add_row(*(cell if isinstance(cell, Text) else Text(str(cell)) for cell in row))
    return view


def show(plain: str, view: Callable[[], Any] | None = None) -> None:
    """A command's result on stdout: `view()` (a rich renderable, or a list of them) on a
    terminal, else the `plain` text."""
    if view is not None and is_terminal(sys.stdout):
        from rich.console import Console

        shown = view()
        items = shown if isinstance(shown, (list, tuple)) else [shown]
        Console(file=sys.stdout, force_terminal=True).print(*items)
    else:
        print(plain, flush=True)
