#!/usr/bin/env python3
"""Writes helm/hookline/files/hookline-dashboard.json, hookline's Grafana dashboard.

Panels are listed here as data (title, queries, unit) and laid out in rows;
the chart ships the JSON in a ConfigMap for Grafana's sidecar, and
tests/operations checks that every metric a panel reads is one hookline
exports. Usage: .venv/bin/python scripts/build-dashboard.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "helm" / "hookline" / "files" / "hookline-dashboard.json"
RATE = "[$__rate_interval]"

Panel = tuple[str, list[tuple[str, str]], str]  # title, [(expr, legend)], unit


def p99(metric: str, by: str) -> str:
    return f"histogram_quantile(0.99, sum by ({by}, le) (rate({metric}_bucket{RATE})))"


def p50(metric: str, by: str) -> str:
    return f"histogram_quantile(0.5, sum by ({by}, le) (rate({metric}_bucket{RATE})))"


ROWS: list[tuple[str, list[Panel]]] = [
    (
        "Ingress",
        [
            (
                "Webhooks by outcome",
                [
                    (
                        f"sum by (outcome) (rate(hookline_ingress_requests_total{RATE}))",
                        "{{outcome}}",
                    )
                ],
                "reqps",
            ),
            (
                "Accepted webhooks by source",
                [
                    (
                        f'sum by (source) (rate(hookline_ingress_requests_total{{outcome="accepted"}}{RATE}))',
                        "{{source}}",
                    )
                ],
                "reqps",
            ),
            (
                "Request latency",
                [
                    (p50("hookline_ingress_request_seconds", "source"), "p50 {{source}}"),
                    (p99("hookline_ingress_request_seconds", "source"), "p99 {{source}}"),
                ],
                "s",
            ),
            (
                "503 answers (Kafka or dedup store unavailable)",
                [
                    (
                        f'sum by (source) (rate(hookline_ingress_requests_total{{outcome="unavailable"}}{RATE}))',
                        "{{source}}",
                    )
                ],
                "reqps",
            ),
            (
                "Rejections by reason",
                [
                    (
                        f'sum by (outcome) (rate(hookline_ingress_requests_total{{outcome!~"accepted|duplicate|dead_lettered|unavailable"}}{RATE}))',
                        "{{outcome}}",
                    ),
                    (
                        f"sum by (source, reason) (rate(hookline_ingress_verification_failures_total{RATE}))",
                        "unverified {{source}}: {{reason}}",
                    ),
                    (
                        f"sum(rate(hookline_ingress_rejections_recorded_total{RATE}))",
                        "recorded for the console",
                    ),
                    (
                        f"sum(rate(hookline_ingress_rejections_dropped_total{RATE}))",
                        "not recorded (queue full)",
                    ),
                    (
                        f"sum by (status, reason) (rate(hookline_ingress_edge_refusals_total{RATE}))",
                        "edge {{status}}: {{reason}}",
                    ),
                ],
                "reqps",
            ),
            (
                "Time since a source's last accepted webhook",
                [("time() - hookline_ingress_last_accepted_timestamp_seconds", "{{source}}")],
                "s",
            ),
        ],
    ),
    (
        "Kafka",
        [
            (
                "Publish latency (until acks=all)",
                [
                    (p50("hookline_ingress_publish_seconds", "source"), "p50 {{source}}"),
                    (p99("hookline_ingress_publish_seconds", "source"), "p99 {{source}}"),
                ],
                "s",
            ),
            (
                "Events published by topic",
                [(f"sum by (topic) (rate(hookline_events_published_total{RATE}))", "{{topic}}")],
                "ops",
            ),
            (
                "Consumer lag by service and topic",
                [
                    (
                        "sum by (service, topic) (hookline_worker_consumer_lag)",
                        "{{service}} {{topic}}",
                    )
                ],
                "short",
            ),
            (
                "Kafka reachable from every ingress process",
                [("min(hookline_kafka_ready)", "ready")],
                "bool",
            ),
        ],
    ),
    (
        "Workers",
        [
            (
                "Records by outcome",
                [
                    (
                        f"sum by (service, outcome) (rate(hookline_worker_records_total{RATE}))",
                        "{{service}} {{outcome}}",
                    )
                ],
                "ops",
            ),
            (
                "Retries by tier",
                [
                    (
                        f"sum by (service, tier) (rate(hookline_worker_retries_total{RATE}))",
                        "{{service}} tier {{tier}}",
                    ),
                    (
                        f"sum by (service) (rate(hookline_worker_inline_retries_total{RATE}))",
                        "{{service}} inline",
                    ),
                ],
                "ops",
            ),
            (
                "Dead letters",
                [
                    (
                        f"sum by (service, reason) (increase(hookline_worker_dead_letters_total{RATE}))",
                        "{{service}} {{reason}}",
                    )
                ],
                "short",
            ),
            (
                "Handler latency",
                [
                    (p50("hookline_worker_handler_seconds", "service"), "p50 {{service}}"),
                    (p99("hookline_worker_handler_seconds", "service"), "p99 {{service}}"),
                ],
                "s",
            ),
            (
                "In flight, buffered, paused",
                [
                    ("sum by (service) (hookline_worker_in_flight)", "{{service}} in flight"),
                    ("sum by (service) (hookline_worker_buffered_records)", "{{service}} buffered"),
                    (
                        "sum by (service) (hookline_worker_paused_partitions)",
                        "{{service}} paused partitions",
                    ),
                ],
                "short",
            ),
            (
                "Fetch loop: time since last turn; commits",
                [
                    (
                        "time() - max by (service) (hookline_worker_last_turn_timestamp_seconds)",
                        "{{service}} since last turn (s)",
                    ),
                    (
                        f"sum by (service, result) (rate(hookline_worker_commits_total{RATE}))",
                        "{{service}} commits {{result}}",
                    ),
                ],
                "short",
            ),
            (
                "Records consumed; reactor commands",
                [
                    (
                        f"sum by (service) (rate(hookline_worker_records_consumed_total{RATE}))",
                        "{{service}} consumed",
                    ),
                    (
                        f"sum by (rule) (rate(hookline_reactor_commands_total{RATE}))",
                        "reactor {{rule}}",
                    ),
                    (
                        f"sum by (rule, reason) (rate(hookline_reactor_skipped_total{RATE}))",
                        "reactor skipped {{rule}} {{reason}}",
                    ),
                ],
                "ops",
            ),
        ],
    ),
    (
        "Providers",
        [
            (
                "Calls by status class",
                [
                    (
                        f"sum by (provider, status_class) (rate(hookline_http_requests_total{RATE}))",
                        "{{provider}} {{status_class}}",
                    )
                ],
                "reqps",
            ),
            (
                "Error ratio (5xx, network, timeout, auth)",
                [
                    (
                        f'sum by (provider) (rate(hookline_http_requests_total{{status_class=~"5xx|network|timeout|auth"}}{RATE})) / sum by (provider) (rate(hookline_http_requests_total{{status_class!~"circuit_open|rate_limited|redis_unavailable"}}{RATE}))',
                        "{{provider}}",
                    )
                ],
                "percentunit",
            ),
            (
                "Call latency",
                [
                    (p50("hookline_http_request_seconds", "provider"), "p50 {{provider}}"),
                    (p99("hookline_http_request_seconds", "provider"), "p99 {{provider}}"),
                ],
                "s",
            ),
            (
                "Circuit breakers (0 closed, 1 half-open, 2 open)",
                [
                    ("max by (provider) (hookline_http_breaker_state)", "{{provider}}"),
                    (
                        f"sum by (provider, state) (increase(hookline_http_breaker_transitions_total{RATE}))",
                        "{{provider}} → {{state}}",
                    ),
                ],
                "short",
            ),
            (
                "Rate-limit waits",
                [
                    (
                        p99("hookline_http_rate_limit_wait_seconds", "provider"),
                        "p99 wait {{provider}}",
                    ),
                    (
                        f"sum by (provider) (rate(hookline_http_rate_limit_rejections_total{RATE}))",
                        "{{provider}} refused",
                    ),
                ],
                "s",
            ),
            (
                "Token refreshes; retries; cache",
                [
                    (
                        f"sum by (provider, outcome) (increase(hookline_http_token_refreshes_total{RATE}))",
                        "{{provider}} token {{outcome}}",
                    ),
                    (
                        f"sum by (provider) (increase(hookline_http_retries_total{RATE}))",
                        "{{provider}} retries",
                    ),
                    (
                        f"sum by (provider, result) (increase(hookline_http_cache_total{RATE}))",
                        "{{provider}} cache {{result}}",
                    ),
                ],
                "short",
            ),
            (
                "Health (1 up, 0 down)",
                [
                    ("min by (provider) (hookline_provider_up)", "{{provider}} probe"),
                    ("min by (provider) (hookline_sms_provider_healthy)", "{{provider}} SMS check"),
                ],
                "bool",
            ),
            (
                "Health probe duration (last probe)",
                [("max by (provider) (hookline_provider_probe_seconds)", "{{provider}}")],
                "s",
            ),
        ],
    ),
    (
        "SMS",
        [
            (
                "Messages by provider and outcome",
                [
                    (
                        f"sum by (provider, outcome) (rate(hookline_sms_messages_total{RATE}))",
                        "{{provider}} {{outcome}}",
                    )
                ],
                "ops",
            ),
            (
                "Failover ratio",
                [
                    (
                        f'sum by (provider) (rate(hookline_sms_messages_total{{outcome="failed_over"}}{RATE})) / sum by (provider) (rate(hookline_sms_messages_total{{outcome=~"accepted|failed_over"}}{RATE}))',
                        "{{provider}}",
                    )
                ],
                "percentunit",
            ),
            (
                "Cost and segments over the range",
                [
                    (
                        "sum by (provider, currency) (increase(hookline_sms_cost_total[$__range]))",
                        "{{provider}} {{currency}}",
                    ),
                    (
                        "sum by (provider) (increase(hookline_sms_segments_total[$__range]))",
                        "{{provider}} segments",
                    ),
                    (
                        "max by (provider, currency) (hookline_sms_cost_per_segment)",
                        "{{provider}} {{currency}} per segment",
                    ),
                ],
                "short",
            ),
            (
                "Send latency (retries included)",
                [(p99("hookline_sms_send_seconds", "provider"), "p99 {{provider}}")],
                "s",
            ),
            (
                "Recent success ratio as routing sees it",
                [("max by (provider) (hookline_sms_provider_success_ratio)", "{{provider}}")],
                "percentunit",
            ),
        ],
    ),
    (
        "Processes",
        [
            ("Resident memory", [("process_resident_memory_bytes", "{{instance}}")], "bytes"),
            ("CPU", [(f"rate(process_cpu_seconds_total{RATE})", "{{instance}}")], "percentunit"),
            (
                "Python GC collections",
                [(f"sum by (instance) (rate(python_gc_collections_total{RATE}))", "{{instance}}")],
                "ops",
            ),
        ],
    ),
]

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def _panel(panel_id: int, panel: Panel, x: int, y: int) -> dict[str, Any]:
    title, queries, unit = panel
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 8, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom"},
            "tooltip": {"mode": "multi"},
        },
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DATASOURCE,
                "expr": expr,
                "legendFormat": legend,
            }
            for i, (expr, legend) in enumerate(queries)
        ],
    }


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y, panel_id = 0, 1
    for row, members in ROWS:
        panels.append(
            {
                "id": panel_id,
                "type": "row",
                "title": row,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        panel_id, y = panel_id + 1, y + 1
        for i, member in enumerate(members):
            panels.append(_panel(panel_id, member, (i % 3) * 8, y + (i // 3) * 8))
            panel_id += 1
        y += ((len(members) + 2) // 3) * 8
    return {
        "uid": "hookline",
        "title": "hookline",
        "description": "Webhook ingress, Kafka, workers, provider APIs and SMS (docs/operations.md).",
        "tags": ["hookline", "kafka", "webhooks"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if TARGET.read_text(encoding="utf-8") != text:
            print(
                f"{TARGET.relative_to(ROOT)} is stale: run scripts/build-dashboard.py",
                file=sys.stderr,
            )
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
