"""Prometheus metrics of the outbound HTTP stack, in hookline's one registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from hookline.observability.metrics import REGISTRY

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "hookline_http_requests_total",
    "Provider API attempts by provider, endpoint and status class "
    "(2xx … 5xx, network, circuit_open, rate_limited).",
    ["provider", "endpoint", "status_class"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "hookline_http_request_seconds",
    "Provider API attempt latency (one HTTP exchange, auth included).",
    ["provider", "endpoint"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
RETRIES = Counter(
    "hookline_http_retries_total",
    "Inline retries scheduled, by provider, endpoint and the status class that caused them.",
    ["provider", "endpoint", "status_class"],
    registry=REGISTRY,
)
BREAKER_STATE = Gauge(
    "hookline_http_breaker_state",
    "Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.",
    ["provider"],
    registry=REGISTRY,
)
BREAKER_TRANSITIONS = Counter(
    "hookline_http_breaker_transitions_total",
    "Circuit breaker state changes per provider, by the state entered.",
    ["provider", "state"],
    registry=REGISTRY,
)
RATE_LIMIT_WAIT = Histogram(
    "hookline_http_rate_limit_wait_seconds",
    "Time calls waited for the client-side rate limit.",
    ["provider"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 60.0),
    registry=REGISTRY,
)
RATE_LIMIT_REJECTIONS = Counter(
    "hookline_http_rate_limit_rejections_total",
    "Calls refused because the rate-limit wait would pass their deadline.",
    ["provider"],
    registry=REGISTRY,
)
TOKEN_REFRESHES = Counter(
    "hookline_http_token_refreshes_total",
    "Access-token fetches per provider by outcome (ok, unavailable, rejected).",
    ["provider", "outcome"],
    registry=REGISTRY,
)
CACHE = Counter(
    "hookline_http_cache_total",
    "GET cache look-ups per provider by result (hit, miss).",
    ["provider", "result"],
    registry=REGISTRY,
)


def status_class(status: int) -> str:
    return f"{status // 100}xx"
