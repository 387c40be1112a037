"""Run a command and write the kernel's resource usage of it as JSON (`retention bench`).

    python -I -S measure_child.py REPORT.json COMMAND [ARG ...]

A stdlib-only script run by retention/bench.py between itself and each timed command. The
peak RSS the kernel reports for a process starts at that of the process it was spawned
from, so a large benchmark process would show through in every small step; spawned from
this small one instead, the command's figures are its own. The command inherits stdin,
stdout, stderr and the environment; this script exits with its exit status.
"""

import json
import os
import sys
import time

report, *command = sys.argv[1:]
started = time.perf_counter()
pid = os.posix_spawnp(command[0], command, os.environ)
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
