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

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import duckdb

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# How long a child (dbt, a benchmark step) may take to stop after SIGTERM before it is killed.
CHILD_STOP_SECONDS = 30
PR_SET_PDEATHSIG = 1


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


@dataclass
class _Deferring:
    """Whether a `deferred()` block is under way, and the signal it holds back."""

    active: bool = False
    pending: int | None = None


_deferring = _Deferring()


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
        if _deferring.active:  # raised when the deferred() block ends
            _deferring.pending = _deferring.pending or signum
            return
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
    that must not be cut in two, such as a commit and the record that it happened.

    Blocking them in the main thread is not enough: a signal sent to the process (Ctrl-C,
    `kill -INT -PGID`) is then taken by another thread (DuckDB's workers), and Python runs
    the handler in the main thread at its next instruction, inside the block. So the
    handler of `stoppable()` holds the signal back while the block runs, and it is raised
    as Interrupted when the block ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outer = _deferring.active
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    _deferring.active = True
    try:
        yield
    finally:
        _deferring.active = outer
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if not outer and _deferring.pending is not None:  # an outer block raises it itself
            pending, _deferring.pending = _deferring.pending, None
            raise Interrupted(pending)


# --- children: stopped with the command ------------------------------------------------------


def stop_child(process: subprocess.Popen, grace_seconds: float = CHILD_STOP_SECONDS) -> None:
    """SIGTERM, then SIGKILL after grace_seconds; also when another signal arrives meanwhile."""
    try:
        with suppress(ProcessLookupError):
            process.terminate()
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if process.poll() is None:
            with suppress(ProcessLookupError):
                process.kill()
            with suppress(BaseException):
                process.wait()


def die_with_parent(signum: int = signal.SIGKILL):
    """A preexec_fn that makes the kernel send the child signum when this process dies, even
    by SIGKILL (Linux; None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: do not start at all
            os._exit(1)

    return preexec
