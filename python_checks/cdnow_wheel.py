"""The lifetimes 0.11.3 wheel from PyPI, cached: it ships the CDNOW purchase logs.

The wheel is downloaded once with ``pip download --no-deps`` into ``.cache/cdnow/``
(git-ignored) and read as a zip by the tests; lifetimes is neither installed nor imported.
A test that asks for it is skipped only when the package registry cannot be reached; any
other download problem fails it. Members used: ``lifetimes/datasets/CDNOW_master.txt``
(test_cdnow.py) and ``lifetimes/datasets/CDNOW_sample.txt`` (test_predictive.py).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache" / "cdnow"
WHEEL_REQUIREMENT = "lifetimes==0.11.3"

# pip's words for "could not reach the index" (it retries, then reports no versions at all).
NETWORK_MARKERS = (
    "NewConnectionError",
    "connection broken by",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Max retries exceeded",
    "ProxyError",
    "Could not fetch URL",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


# --- the raw file ----------------------------------------------------------------------------


def _pip() -> list[str]:
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    pytest.fail("no pip client to download the lifetimes wheel (neither in the venv nor on PATH)")


def cdnow_wheel() -> Path:
    """The cached wheel; downloaded with `pip download --no-deps` when absent."""
    wheels = sorted(CACHE_DIR.glob("[Ll]ifetimes-0.11.3-*.whl"))
    if wheels:
        return wheels[0]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as staging:
        command = [
            *_pip(),
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--retries",
            "2",
            "--timeout",
            "30",
            WHEEL_REQUIREMENT,
            "-d",
            staging,
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        downloaded = sorted(Path(staging).glob("[Ll]ifetimes-0.11.3-*.whl"))
        if completed.returncode != 0 or not downloaded:
            output = completed.stdout + completed.stderr
            if any(marker in output for marker in NETWORK_MARKERS):
                pytest.skip(f"package registry unreachable, cannot download {WHEEL_REQUIREMENT}")
            pytest.fail(f"`{' '.join(command)}` failed:\n{output}")
        # Move into place only when complete, so a concurrent run never reads half a file.
        target = CACHE_DIR / downloaded[0].name
        os.replace(downloaded[0], target)
    return target


def read_member(member: str) -> bytes:
    """The bytes of one file inside the wheel (e.g. ``lifetimes/datasets/CDNOW_sample.txt``)."""
    with zipfile.ZipFile(cdnow_wheel()) as wheel:
        return wheel.read(member)
