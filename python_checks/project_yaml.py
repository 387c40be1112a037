"""The project's YAML files as the checks read them: parsed once per session, with libyaml
when PyYAML has it (the marts' YAML files are long; the pure-Python parser took about a
second each)."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
MARTS_DIR = REPO_ROOT / "models" / "marts"


@functools.cache
def read_yaml(path: Path) -> dict:
    """One YAML file of the project (the checks only read it: do not change the result)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(), Loader=loader)


def mart_models() -> dict[str, dict]:
    """Every mart's entry in the marts' YAML files (models/marts/*/_*__models.yml), by name."""
    models = {}
    for path in sorted(MARTS_DIR.rglob("_*__models.yml")):
        for model in read_yaml(path).get("models") or []:
            models[model["name"]] = model
    return models
