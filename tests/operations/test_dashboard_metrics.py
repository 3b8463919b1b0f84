"""Every metric the dashboard's panels and the alert rules read is one a running hookline exports."""

from __future__ import annotations

import contextlib
import json
import os
import re
import runpy
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.operations.support import DASHBOARD, ROOT, RULES, metric_names
from tests.support.devconfig import write_on_free_ports
from tests.support.run import hookline_run

HOOKLINE = [sys.executable, "-m", "hookline"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}

# Metrics a panel or a rule may read before hookline exports them, each with the reason
# (the provider health metrics were listed here until the per-provider probes landed).
PENDING: dict[str, str] = {}


def dashboard_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    return set().union(*(metric_names(e) for e in exprs))


def rule_metrics() -> set[str]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return set().union(*(metric_names(r["expr"]) for g in groups for r in g["rules"]))


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, float]:
    """`hookline run`'s /metrics after a demo scenario went through, and when the demo began."""
    config, _ = write_on_free_ports(tmp_path_factory.mktemp("ops"))
    port = re.search(r"^  port: (\d+)", config.read_text(), re.M)
    assert port is not None
    with _running(config):
        demo_started = time.time()
        demo = subprocess.run(
            [*HOOKLINE, "--config", str(config), "demo", "colt-order", "--timeout", "45"],
            capture_output=True,
            text=True,
            timeout=240,
            env=ENV,
            check=False,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        text = httpx.get(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=10).text
    return text, demo_started


@pytest.fixture(scope="module")
def exported(scraped: tuple[str, float]) -> set[str]:
    """The metric families on that /metrics."""
    return set(re.findall(r"^# TYPE (\S+) ", scraped[0], re.M))


@contextlib.contextmanager
def _running(config: Path) -> Iterator[None]:
    """`hookline run` (embedded broker, ingress, workers, reactor, simulators) until the block ends."""
    with hookline_run(config, ENV):
        yield


def _families(exposed: set[str]) -> set[str]:
    # A counter is typed under its name without _total.
    return exposed | {f"{name}_total" for name in exposed}


def test_every_panel_reads_an_exported_metric(exported: set[str]) -> None:
    """Each metric a dashboard panel queries is on /metrics, or listed as pending with a reason."""
    missing = dashboard_metrics() - _families(exported) - set(PENDING)
    assert not missing, f"panels read metrics hookline does not export: {sorted(missing)}"


def test_every_rule_reads_an_exported_metric(exported: set[str]) -> None:
    """Each metric an alert rule reads is on /metrics, or listed as pending with a reason."""
    missing = rule_metrics() - _families(exported) - set(PENDING)
    assert not missing, f"rules read metrics hookline does not export: {sorted(missing)}"


def test_pending_metrics_are_named_with_a_reason() -> None:
    """Each pending metric is read by a panel or rule and says why it may be missing."""
    assert set(PENDING) <= dashboard_metrics() | rule_metrics()
    assert all(reason for reason in PENDING.values())


# The families each area of the dashboard must show (a metric added later may join a panel
# when it is useful; it does not fail this test).
AREAS = {
    "Ingress": {
        "hookline_ingress_requests",
        "hookline_ingress_request_seconds",
        "hookline_ingress_verification_failures",
    },
    "Kafka": {"hookline_ingress_publish_seconds", "hookline_worker_consumer_lag"},
    "Workers": {
        "hookline_worker_records",
        "hookline_worker_retries",
        "hookline_worker_dead_letters",
        "hookline_worker_handler_seconds",
    },
    "Providers": {
        "hookline_http_requests",
        "hookline_http_request_seconds",
        "hookline_http_breaker_state",
        "hookline_http_rate_limit_wait_seconds",
        "hookline_http_token_refreshes",
        "hookline_provider_up",
    },
    "SMS": {"hookline_sms_messages", "hookline_sms_cost"},
}


def test_the_dashboard_covers_every_area() -> None:
    """Ingress, Kafka, workers, providers and SMS rows exist, each showing its area's metrics."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    rows: dict[str, set[str]] = {}
    current = ""
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            current = panel["title"]
            rows[current] = set()
        for target in panel.get("targets", []):
            rows[current] |= {n.removesuffix("_total") for n in metric_names(target["expr"])}
    for area, wanted in AREAS.items():
        assert not wanted - rows[area], f"{area} row lacks {sorted(wanted - rows[area])}"


def test_dashboard_file_is_what_the_builder_writes() -> None:
    """helm/hookline/files/hookline-dashboard.json is exactly scripts/build-dashboard.py's output."""
    render = runpy.run_path(str(ROOT / "scripts" / "build-dashboard.py"))["render"]
    assert DASHBOARD.read_text(encoding="utf-8") == render(), "run scripts/build-dashboard.py"


def test_alerting_gauges_hold_current_times(scraped: tuple[str, float]) -> None:
    """Every worker's fetch loop turned during the demo, and the demo's Colt source shows its accept."""
    text, demo_started = scraped
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    turns = {
        s.labels["service"]: s.value
        for s in samples
        if s.name == "hookline_worker_last_turn_timestamp_seconds"
    }
    assert set(turns) == {"colt", "reactor", "reconcile", "reservation", "sms"}
    assert all(value >= demo_started for value in turns.values()), turns
    accepted = {
        s.labels["source"]: s.value
        for s in samples
        if s.name == "hookline_ingress_last_accepted_timestamp_seconds"
    }
    assert max(accepted.values()) >= demo_started, accepted
