"""Run a command and write the kernel's resource usage of it as JSON (`retention bench`).

    python -I -S measure_child.py REPORT.json COMMAND [ARG ...]

A stdlib-only script run by retention/bench.py between itself and each timed command. The
peak RSS the kernel reports for a process starts at that of the process it was spawned
from, so a large benchmark process would show through in every small step; spawned from
this small one instead, the command's figures are its own. The command inherits stdin,
stdout, stderr and the environment; this script exits with its exit status.

A benchmark stopped by a signal stops its step too: SIGTERM and SIGHUP sent to this script
are passed on to the command (SIGINT from a terminal reaches the command itself, in the
same process group); the benchmark has the kernel send this script SIGTERM when the
benchmark process dies.
"""

import contextlib
import json
import os
import signal
import sys
import time

PASSED_ON = (signal.SIGTERM, signal.SIGHUP)

report, *command = sys.argv[1:]
started = time.perf_counter()
# Held back until the handlers that pass them on are set (the command starts without them).
signal.pthread_sigmask(signal.SIG_BLOCK, (*PASSED_ON, signal.SIGINT))
pid = os.posix_spawnp(command[0], command, os.environ, setsigmask=())


def pass_on(signum, _frame):
    with contextlib.suppress(ProcessLookupError):  # the command may have ended
        os.kill(pid, signum)


for signum in PASSED_ON:
    signal.signal(signum, pass_on)
signal.signal(signal.SIGINT, lambda _signum, _frame: None)  # the terminal sent the command one
signal.pthread_sigmask(signal.SIG_UNBLOCK, (*PASSED_ON, signal.SIGINT))
_, status, usage = os.wait4(pid, 0)
returncode = os.waitstatus_to_exitcode(status)
with open(report, "w", encoding="utf-8") as out:
    json.dump(
        {
            "seconds": time.perf_counter() - started,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "max_process_rss_mb": usage.ru_maxrss / 2**10,  # KiB on Linux
            "returncode": returncode,
        },
        out,
    )
sys.exit(returncode if returncode >= 0 else 128 - returncode)
