"""The Spark packages live in the same virtualenv as the rest (`make setup-spark` adds the
uv group `spark` to `.venv`): what `make test` and `retention validate` import there must
still work.

pyspark's Spark Connect modules, imported by great_expectations, call `sys.exit(0)` when
grpc is missing and the main module has no file (a `python -c` process, a pytest-xdist
worker: pyspark takes them for its own doctests). Without the `connect` extra, `make test`
after `make setup-spark` stopped with an INTERNALERROR in every worker.
"""

from __future__ import annotations

import subprocess
import sys


def test_great_expectations_imports_in_a_process_without_a_main_file():
    run = subprocess.run(
        [sys.executable, "-c", "import retention.expectations; print('imported')"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines()[-1:] == ["imported"], run.stdout + run.stderr[-2000:]
