"""SMS metrics: messages, segments and cost per provider (cost tracking: docs/sms.md)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from hookline.observability.metrics import REGISTRY

MESSAGES = Counter(
    "hookline_sms_messages_total",
    "SMS outcomes by provider: accepted, delivered, undelivered, failed_over, failed.",
    ["provider", "outcome"],
    registry=REGISTRY,
)
SEGMENTS = Counter(
    "hookline_sms_segments_total",
    "Segments accepted by each provider.",
    ["provider"],
    registry=REGISTRY,
)
COST = Counter(
    "hookline_sms_cost_total",
    "Cost of accepted segments (services.sms.cost_per_segment).",
    ["provider", "currency"],
    registry=REGISTRY,
)
COST_PER_SEGMENT = Gauge(
    "hookline_sms_cost_per_segment",
    "Configured cost of one segment.",
    ["provider", "currency"],
    registry=REGISTRY,
)
SEND_LATENCY = Histogram(
    "hookline_sms_send_seconds",
    "Time of a provider send call, retries included.",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
SUCCESS_RATE = Gauge(
    "hookline_sms_provider_success_ratio",
    "Recent success rate per provider as routing sees it (-1 while too few samples).",
    ["provider"],
    registry=REGISTRY,
)
PROVIDER_HEALTHY = Gauge(
    "hookline_sms_provider_healthy",
    "1 when the provider's last health check passed, 0 when it failed.",
    ["provider"],
    registry=REGISTRY,
)
TEMPLATE_OUTCOMES = Counter(
    "hookline_sms_template_outcomes_total",
    "Outcomes of templated messages per template variant (A/B testing): accepted, "
    "delivered, undelivered, failed. Counted once per message and outcome.",
    ["template", "variant", "outcome"],
    registry=REGISTRY,
)
