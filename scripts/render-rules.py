#!/usr/bin/env python3
"""Writes deploy/prometheus/hookline-rules.yaml: the chart's alert rules with default values.

The rules are written once, in helm/hookline/templates/_rules.tpl; this renders
them with Helm's own engine (helm-python-sdk, offline) for users without the
chart. tests/operations fails when the committed file and the chart disagree.
Usage: .venv/bin/python scripts/render-rules.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm" / "hookline"
TARGET = ROOT / "deploy" / "prometheus" / "hookline-rules.yaml"
HEADER = (
    "# hookline's Prometheus alert rules, with the chart's default thresholds.\n"
    "# Generated from helm/hookline/templates/_rules.tpl by scripts/render-rules.py;\n"
    "# edit the template, not this file. Runbooks: docs/operations.md.\n"
)


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def rule_groups(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The `groups` of the chart's PrometheusRule rendered with ``values`` (enabled forced)."""
    chosen = dict(values or {})
    chosen["prometheusRule"] = {**chosen.get("prometheusRule", {}), "enabled": True}
    output = helm_python.Chart.load(CHART).render(chosen, name="hookline", namespace="hookline")
    rule = yaml.safe_load(output["hookline/templates/prometheusrule.yaml"])
    return list(rule["spec"]["groups"])


def rules_file(values: dict[str, Any] | None = None) -> str:
    body = yaml.dump({"groups": rule_groups(values)}, Dumper=_Dumper, sort_keys=False, width=120)
    return HEADER + body


def main(argv: list[str]) -> int:
    text = rules_file()
    if "--check" in argv:
        if TARGET.read_text(encoding="utf-8") != text:
            print(
                f"{TARGET.relative_to(ROOT)} is stale: run scripts/render-rules.py", file=sys.stderr
            )
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
