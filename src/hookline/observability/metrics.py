"""Prometheus metrics shared by every part of hookline (one registry per process)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)

from hookline.observability.loop_metrics import LoopCounter, LoopGauge, LoopHistogram

REGISTRY = CollectorRegistry(auto_describe=True)
# process_* (CPU, memory, file descriptors, start time) and python_* (version, GC),
# as prometheus_client's default registry has them. With `serve --workers N` they
# describe the process that answered the scrape.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Ingress
# The per-request ones are lock-free (see loop_metrics): four prometheus_client
# updates per request were ~6 % of the ingress CPU.
INGRESS_REQUESTS = LoopCounter(
    "hookline_ingress_requests_total",
    "Webhook requests by source and outcome.",
    ["source", "outcome"],
    registry=REGISTRY,
)
VERIFICATION_FAILURES = LoopCounter(
    "hookline_ingress_verification_failures_total",
    "Webhook signature verification failures by source and reason.",
    ["source", "reason"],
    registry=REGISTRY,
)
# Refused by the connection handling before any request reached the app (no source is
# known yet): oversized or slow headers, bad framing, over max_connections.
EDGE_REFUSALS = LoopCounter(
    "hookline_ingress_edge_refusals_total",
    "Requests answered by the HTTP edge before routing, by status and reason.",
    ["status", "reason"],
    registry=REGISTRY,
)
PUBLISH_LATENCY = LoopHistogram(
    "hookline_ingress_publish_seconds",
    "Time from publish to Kafka acknowledgement.",
    ["source"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
REQUEST_LATENCY = LoopHistogram(
    "hookline_ingress_request_seconds",
    "Webhook request latency by source.",
    ["source"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
EVENTS_PUBLISHED = LoopCounter(
    "hookline_events_published_total",
    "CloudEvents published by topic.",
    ["topic"],
    registry=REGISTRY,
)
KAFKA_READY = LoopGauge(
    "hookline_kafka_ready",
    "1 when the producer can reach Kafka (every running ingress process's producer).",
    [],
    registry=REGISTRY,
    across_processes="min_live",
)
LAST_ACCEPTED = LoopGauge(
    "hookline_ingress_last_accepted_timestamp_seconds",
    "Unix time of the last webhook a source had accepted (its start-up time until then).",
    ["source"],
    registry=REGISTRY,
)
