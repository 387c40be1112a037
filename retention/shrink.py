"""The shrink guard: a table may lose at most a share of its rows, unless told otherwise.

One rule serves two places. `retention load --replace` refuses to leave a core raw table
(customers, orders, contracts) with more than `--max-shrink` fewer keys than it holds now
(the rows staging makes of it: the earlier loads of a key do not count);
`retention validate --baseline` fails a mart that lost more than `--max-shrink` of the rows
it has in the published warehouse. `retention build` applies both with the same two options,
and `--allow-shrink` lifts the guard for a shrink that is meant.
"""

from __future__ import annotations

import argparse

DEFAULT_MAX_SHRINK = 0.10


def share(text: str) -> float:
    """argparse type: a share between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # also false for nan
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """`--max-shrink SHARE` and `--allow-shrink`; `what` names what the guard protects."""
    parser.add_argument(
        "--max-shrink",
        type=share,
        default=DEFAULT_MAX_SHRINK,
        metavar="SHARE",
        help=f"the largest share of its rows {what} may lose (default {DEFAULT_MAX_SHRINK})",
    )
    parser.add_argument(
        "--allow-shrink",
        action="store_true",
        help=f"accept {what} however much it shrinks",
    )


def shrinkage(before: int, after: int, max_shrink: float) -> str | None:
    """How much too far a table shrank from `before` to `after` rows ("20.0% fewer; the limit
    is 10%, --max-shrink"), or None when it may: it lost at most `max_shrink` of its rows, or
    it had none."""
    if before == 0 or after >= before * (1 - max_shrink):
        return None
    lost = (before - after) / before
    return f"{lost:.1%} fewer; the limit is {max_shrink * 100:g}%, --max-shrink"
