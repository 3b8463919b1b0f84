"""What the operations tests share: promtool, the rules renderer, the shipped files."""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "hookline-rules.yaml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "hookline-rules.test.yaml"
DASHBOARD = ROOT / "helm" / "hookline" / "files" / "hookline-dashboard.json"
OPERATIONS = ROOT / "docs" / "operations.md"

_renderer = runpy.run_path(str(ROOT / "scripts" / "render-rules.py"))
rule_groups: Callable[[dict[str, Any] | None], list[dict[str, Any]]] = _renderer["rule_groups"]
rules_file: Callable[[dict[str, Any] | None], str] = _renderer["rules_file"]

# Metric names a query may end in that are series of a family, not families.
_SUFFIXES = ("_bucket", "_count", "_sum", "_created")
_NAME = re.compile(r"\b((?:hookline|process|python)_[a-z0-9_]+)")


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed (make test installs Debian's prometheus package)")
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def metric_names(expression: str) -> set[str]:
    """The metric families a PromQL expression reads (histogram series map to their family)."""
    names = set()
    for name in _NAME.findall(expression):
        for suffix in _SUFFIXES:
            if name.endswith(suffix):
                name = name.removesuffix(suffix)
                break
        names.add(name)
    return names
