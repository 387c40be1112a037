"""The lifetimes 0.11.3 wheel from PyPI, cached: it ships the CDNOW purchase logs.

retention/cdnow.py downloads it once with ``pip download --no-deps`` into ``.cache/cdnow/``
(git-ignored); the tests read it as a zip; lifetimes is neither installed nor imported. A test
that asks for it is skipped only when the package registry cannot be reached; any other
download problem fails it. Members used: ``lifetimes/datasets/CDNOW_master.txt``
(test_cdnow.py) and ``lifetimes/datasets/CDNOW_sample.txt`` (test_predictive*.py).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from retention import cdnow


def cdnow_wheel() -> Path:
    """The cached wheel; downloaded when absent (skip when the registry is unreachable)."""
    try:
        return cdnow.wheel()
    except cdnow.RegistryUnreachable as exc:
        pytest.skip(str(exc))
    except cdnow.CdnowError as exc:
        pytest.fail(str(exc))


def read_member(member: str) -> bytes:
    """The bytes of one file inside the wheel (e.g. ``lifetimes/datasets/CDNOW_sample.txt``)."""
    with zipfile.ZipFile(cdnow_wheel()) as wheel:
        return wheel.read(member)
