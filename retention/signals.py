"""Stopping a command by a signal: SIGINT (Ctrl-C), SIGTERM (an orchestrator's stop) or
SIGHUP (a closed terminal).

Inside `stoppable()`, each of them raises `Interrupted` in the main thread, so that
`finally` blocks and `except BaseException` clean-ups run (a transaction rolled back, a new
database file removed) and the command can say what was left. A DuckDB query under way when
the signal arrives is interrupted by DuckDB's client, which raises its own `RuntimeError`
("Query interrupted") in place of ours: `stoppable()` therefore records the signal, and
`signal_of` names it whichever exception reached the caller.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A signal asked the command to stop (a BaseException, so no `except Exception` eats it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


@dataclass
class Received:
    """The first stopping signal received inside `stoppable()`, if any."""

    signum: int | None = None


@contextmanager
def stoppable() -> Iterator[Received]:
    """SIGINT, SIGTERM and SIGHUP raise Interrupted in the main thread while in this block;
    the first one is recorded in the Received it yields. (Outside the main thread, where
    handlers cannot be set, nothing changes.)"""
    received = Received()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def interrupt(signum: int, _frame: object) -> None:
        if received.signum is None:
            received.signum = signum
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in SIGNALS}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def signal_of(exc: BaseException, received: Received) -> int | None:
    """The signal that stopped the command with `exc`, or None when `exc` is an ordinary
    error: Interrupted names its own, Ctrl-C outside `stoppable()` is SIGINT, and any
    exception raised after a signal was received (DuckDB's "Query interrupted") is that
    signal's doing."""
    if isinstance(exc, Interrupted):
        return exc.signum
    if received.signum is not None:
        return received.signum
    if isinstance(exc, KeyboardInterrupt | duckdb.InterruptException):
        return signal.SIGINT
    return None


@contextmanager
def deferred() -> Iterator[None]:
    """The stopping signals wait until the end of this block (in the main thread): a step
    that must not be cut in two, such as a commit and the record that it happened."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
