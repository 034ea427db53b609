"""YAML read through libyaml's C parser when PyYAML was built with it.

Every command reads the column schema, the aliases, the federal project and the settings; the
pure-Python parser spends a fifth of a small ingest on them, the C one a fiftieth. Both accept the
same safe subset and raise the same `yaml.YAMLError` classes (with the line in `problem_mark`).
"""
from __future__ import annotations

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str):
    """`yaml.safe_load`, through the C parser when there is one."""
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader, C or Python
