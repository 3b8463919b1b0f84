"""hookline's alert rules pass promtool's checks and unit tests, as shipped and as the chart renders them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.operations.support import (
    OPERATIONS,
    RULE_TESTS,
    RULES,
    promtool,
    rule_groups,
    rules_file,
)

ALERTS = {
    "HooklineKafkaUnreachable",
    "HooklineIngressUnavailable",
    "HooklineVerificationFailures",
    "HooklineConnectionCapReached",
    "HooklineSourceSilent",
    "HooklineDeadLetters",
    "HooklineConsumerLagGrowing",
    "HooklineWorkerStalled",
    "HooklineRetryBacklog",
    "HooklineCircuitBreakerOpen",
    "HooklineProviderErrorRate",
    "HooklineProviderLatency",
    "HooklineProviderAvailability",
    "HooklineProviderDown",
    "HooklineTokenRefreshFailing",
    "HooklineSmsFailover",
}


def _rules(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_shipped_rules_pass_promtool_check() -> None:
    """`promtool check rules` accepts deploy/prometheus/hookline-rules.yaml with every alert in it."""
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_shipped_rules_pass_their_unit_tests() -> None:
    """`promtool test rules`: each alert fires on the series that should page and not on the others."""
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_silent() -> None:
    """The unit tests hold, for every alert, one case where it fires and one where it does not."""
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    fires = {c["alertname"] for c in cases if c.get("exp_alerts")}
    silent = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    assert fires == ALERTS
    assert silent == ALERTS


def test_shipped_file_is_the_chart_rendered_with_defaults() -> None:
    """deploy/prometheus/hookline-rules.yaml is exactly the chart's template with default values."""
    assert RULES.read_text(encoding="utf-8") == rules_file(None), "run scripts/render-rules.py"


def test_every_alert_has_summary_description_and_a_runbook_section() -> None:
    """Each alert carries summary, description and a runbook_url naming a section of docs/operations.md."""
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    rules = _rules(rule_groups(None))
    assert set(rules) == ALERTS
    for name, rule in rules.items():
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], name
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        url = annotations["runbook_url"]
        assert url.startswith("https://github.com/hookline/hookline/blob/main/docs/operations.md#")
        assert url.split("#")[1] == name.lower() in headings, name


CUSTOM = {
    "prometheusRule": {
        "disabledAlerts": ["HooklineSmsFailover"],
        "rules": {
            "sourceSilence": {"defaultSeconds": 0, "sources": {"colt": 3600, "mitake-dlr": 600}},
            "providerLatency": {"p99Seconds": 10, "for": "1m"},
        },
    }
}

CUSTOM_TESTS = {
    "rule_files": ["rules.yaml"],
    "evaluation_interval": "1m",
    "tests": [
        {
            # colt and mitake-dlr have their own expectations; billing is not watched at all.
            "interval": "1m",
            "input_series": [
                {
                    "series": 'hookline_ingress_last_accepted_timestamp_seconds{source="colt"}',
                    "values": "0x100",
                },
                {
                    "series": 'hookline_ingress_last_accepted_timestamp_seconds{source="mitake-dlr"}',
                    "values": "0+60x100",
                },
                {
                    "series": 'hookline_ingress_last_accepted_timestamp_seconds{source="billing"}',
                    "values": "0x100",
                },
            ],
            "alert_rule_test": [
                {"eval_time": "50m", "alertname": "HooklineSourceSilent", "exp_alerts": []},
                {
                    "eval_time": "61m",
                    "alertname": "HooklineSourceSilent",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "warning", "source": "colt"},
                            "exp_annotations": {
                                "summary": "Source colt has delivered nothing for longer than expected",
                                "description": "No webhook from colt was accepted for 1h 1m 0s.",
                                "runbook_url": "https://github.com/hookline/hookline/blob/main/docs/operations.md#hooklinesourcesilent",
                            },
                        }
                    ],
                },
            ],
        },
        {
            # A p99 of ~5 s is under a 10 s threshold.
            "interval": "1m",
            "input_series": [
                {
                    "series": 'hookline_http_request_seconds_bucket{provider="colt",le="2"}',
                    "values": "0x20",
                },
                {
                    "series": 'hookline_http_request_seconds_bucket{provider="colt",le="5"}',
                    "values": "0+10x20",
                },
                {
                    "series": 'hookline_http_request_seconds_bucket{provider="colt",le="+Inf"}',
                    "values": "0+10x20",
                },
            ],
            "alert_rule_test": [
                {"eval_time": "15m", "alertname": "HooklineProviderLatency", "exp_alerts": []}
            ],
        },
    ],
}


def test_chart_rules_with_custom_values_pass_promtool(tmp_path: Path) -> None:
    """Values change the rendered rules: per-source silence, a raised threshold, a disabled alert."""
    groups = rule_groups(CUSTOM)
    rules = _rules(groups)
    assert set(rules) == ALERTS - {"HooklineSmsFailover"}
    assert "> 10" in rules["HooklineProviderLatency"]["expr"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    (tmp_path / "rules.test.yaml").write_text(yaml.safe_dump(CUSTOM_TESTS))
    checked = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "rules.test.yaml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _silent(source: str, after: str) -> dict[str, Any]:
    return {
        "exp_labels": {"severity": "warning", "source": source},
        "exp_annotations": {
            "summary": f"Source {source} has delivered nothing for longer than expected",
            "description": f"No webhook from {source} was accepted for {after}.",
            "runbook_url": "https://github.com/hookline/hookline/blob/main/docs/operations.md#hooklinesourcesilent",
        },
    }


def test_source_expectations_override_the_default(tmp_path: Path) -> None:
    """A listed source alerts after its own expectation, every other source after the default
    (a name with regex characters excludes only itself)."""
    values = {
        "prometheusRule": {
            "rules": {
                "sourceSilence": {"defaultSeconds": 7200, "sources": {"colt": 3600, "a.b": 600}}
            }
        }
    }
    series = [
        {
            "series": f'hookline_ingress_last_accepted_timestamp_seconds{{source="{name}"}}',
            "values": "0x200",
        }
        for name in ("colt", "a.b", "axb", "billing")
    ]
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "5m", "alertname": "HooklineSourceSilent", "exp_alerts": []},
                    {
                        "eval_time": "11m",
                        "alertname": "HooklineSourceSilent",
                        "exp_alerts": [_silent("a.b", "11m 0s")],
                    },
                    {
                        "eval_time": "61m",
                        "alertname": "HooklineSourceSilent",
                        "exp_alerts": [_silent("a.b", "1h 1m 0s"), _silent("colt", "1h 1m 0s")],
                    },
                    {
                        "eval_time": "121m",
                        "alertname": "HooklineSourceSilent",
                        "exp_alerts": [
                            _silent(s, "2h 1m 0s") for s in ("a.b", "axb", "billing", "colt")
                        ],
                    },
                ],
            }
        ],
    }
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups(values)}))
    (tmp_path / "rules.test.yaml").write_text(yaml.safe_dump(tests))
    tested = promtool("test", "rules", "rules.test.yaml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
