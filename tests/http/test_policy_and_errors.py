"""Pure parts of the stack: the retry policy's decisions, header parsing, error maps, exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from prometheus_client import generate_latest

import hookline.http
from hookline.errors import ProviderRejected, ProviderUnavailable
from hookline.http import AUTH, PERMANENT, RETRYABLE, CodeMap, ManualClock, StatusErrorMap
from hookline.http.errors import AuthFailed, Rejected, Unavailable
from hookline.http.retry import RetryPolicy, parse_reset, parse_retry_after, server_hint
from hookline.observability.metrics import REGISTRY
from tests.http.conftest import client_for, settings
from tests.http.fault_server import FaultServer, Step

NOW = 1_750_000_000.0


def response(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = json.dumps(body).encode() if body is not None else b""
    return httpx.Response(status, content=content, headers=headers)


def policy(**kw: object) -> RetryPolicy:
    defaults: dict[str, object] = {
        "jitter": lambda cap: cap,
        "floor_jitter": lambda floor: floor,
        "max_attempts": 3,
        "inline_max_delay": 10.0,
    }
    defaults.update(kw)
    return RetryPolicy(**defaults)  # type: ignore[arg-type]


def decide(p: RetryPolicy, **kw: object) -> tuple[bool, float, str]:
    args: dict[str, object] = {
        "attempt": 1,
        "retryable": True,
        "may_repeat": True,
        "status": 503,
        "headers": None,
        "now": NOW,
        "remaining": 60.0,
    }
    args.update(kw)
    d = p.decide(**args)  # type: ignore[arg-type]
    return d.retry, d.delay, d.reason


def test_backoff_doubles_and_is_capped() -> None:
    """Generic backoff: base × 2^(n−1), capped at max_delay."""
    p = policy(base_delay=1.0, max_delay=3.0)
    assert [p.backoff(n, 503) for n in (1, 2, 3)] == [1.0, 2.0, 3.0]


def test_network_errors_use_status_key_zero() -> None:
    """status_delays key 0 is the network-error base (Colt: 5 s)."""
    p = policy(status_delays={0: 5.0})
    assert p.backoff(2, None) == 10.0


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"retryable": False}, (False, 0.0, "not_retryable")),
        ({"may_repeat": False}, (False, 0.5, "not_idempotent")),
        ({"attempt": 3}, (False, 2.0, "attempts_exhausted")),
        ({"remaining": 0.2}, (False, 0.5, "deadline")),
        ({}, (True, 0.5, "retry")),
    ],
)
def test_decisions(kw: dict[str, object], expected: tuple[bool, float, str]) -> None:
    """Each reason to stop, in order; otherwise retry after the backoff."""
    assert decide(policy(base_delay=0.5), **kw) == expected


def test_hint_over_inline_max_is_handed_to_the_worker() -> None:
    """A Retry-After over inline_max_delay stops the inline retries, keeping the hint as the delay."""
    headers = httpx.Headers({"Retry-After": "600"})
    assert decide(policy(), status=429, headers=headers) == (False, 600.0, "delay_over_inline_max")


def test_retry_after_forms() -> None:
    """Retry-After: delta seconds, HTTP date (past dates are 0), garbage ignored."""
    assert parse_retry_after("12", NOW) == 12.0
    date = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)
    assert parse_retry_after(date, NOW) == pytest.approx(30.0)
    past = format_datetime(datetime.fromtimestamp(NOW - 30, UTC), usegmt=True)
    assert parse_retry_after(past, NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None


def test_reset_header_forms() -> None:
    """X-RateLimit-Reset: epoch seconds from now, at least 1 s (Colt); small values are deltas."""
    assert parse_reset(str(int(NOW) + 42), NOW) == 42.0
    assert parse_reset(str(int(NOW) - 5), NOW) == 1.0
    assert parse_reset("7", NOW) == 7.0
    assert parse_reset("x", NOW) is None


def test_reset_header_only_counts_for_429() -> None:
    """Colt sends x-ratelimit-reset on every answer; it only sets the wait of a 429."""
    headers = httpx.Headers({"x-ratelimit-reset": str(int(NOW) + 42)})
    assert server_hint(429, headers, NOW) == 42.0
    assert server_hint(503, headers, NOW) is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, None),
        (204, None),
        (400, Rejected),
        (401, AuthFailed),
        (403, Rejected),
        (404, Rejected),
        (408, Unavailable),
        (409, Rejected),
        (429, Unavailable),
        (500, Unavailable),
        (503, Unavailable),
    ],
)
def test_status_map(status: int, kind: type | None) -> None:
    """The default map: 408/429/5xx retryable, 401 auth, other 4xx permanent, 2xx fine."""
    error = StatusErrorMap().classify(response(status, {"error": {"code": "X", "message": "m"}}))
    if kind is None:
        assert error is None
    else:
        assert type(error) is kind
        assert error.code == "X"  # type: ignore[union-attr]


def test_status_map_overrides() -> None:
    """Colt's 500 is permanent in its table: overrides change single statuses."""
    assert isinstance(StatusErrorMap({500: PERMANENT}).classify(response(500)), ProviderRejected)


def test_code_map_wins_over_status_and_keeps_code_message_details() -> None:
    """A code in the table decides the fate whatever the status; message and field issues are kept."""
    errors = CodeMap(
        {
            "CONNECTOR_UNAVAILABLE": RETRYABLE,
            "NO_AVAILABILITY": PERMANENT,
            "SIGNATURE_INVALID": AUTH,
        }
    )
    busy = errors.classify(
        response(409, {"error": {"code": "CONNECTOR_UNAVAILABLE", "message": "in use"}})
    )
    assert isinstance(busy, ProviderUnavailable)
    assert busy.code == "CONNECTOR_UNAVAILABLE"
    full = errors.classify(
        response(
            409,
            {
                "error": {
                    "code": "NO_AVAILABILITY",
                    "message": "No tables",
                    "details": [{"field": "time", "issue": "taken"}],
                }
            },
        )
    )
    assert isinstance(full, ProviderRejected)
    assert str(full) == "HTTP 409 NO_AVAILABILITY: No tables (time: taken)"
    assert full.details == [{"field": "time", "issue": "taken"}]
    assert isinstance(
        errors.classify(response(401, {"error": {"code": "SIGNATURE_INVALID"}})), AuthFailed
    )
    assert isinstance(
        errors.classify(response(502, {"error": {"code": "OTHER"}})), ProviderUnavailable
    )
    assert errors.classify(response(201, {"ok": True})) is None


def test_code_map_custom_fields_and_2xx_errors() -> None:
    """Dotted field paths and check_success serve APIs that report errors inside a 200."""
    errors = CodeMap(
        {"21211": PERMANENT}, code_field="code", message_field="message", check_success=True
    )
    error = errors.classify(response(200, {"code": 21211, "message": "bad To"}))
    assert isinstance(error, ProviderRejected)
    assert error.code == "21211"
    assert errors.classify(response(200, {"sid": "SM1"})) is None


def test_code_map_tolerates_non_json_bodies() -> None:
    """An HTML 502 page still maps by status."""
    error = CodeMap({}).classify(httpx.Response(502, content=b"<html>bad gateway</html>"))
    assert isinstance(error, ProviderUnavailable)


def test_exported_names_exist() -> None:
    """hookline.http.__all__ lists exactly the public names it exports."""
    public = {name for name in dir(hookline.http) if not name.startswith("_")}
    modules = {
        "audit",
        "auth",
        "breaker",
        "breaker_redis",
        "cache",
        "client",
        "clock",
        "errors",
        "metrics",
        "oauth",
        "ratelimit",
        "registry",
        "retry",
        "signing",
        "token_store",
        "annotations",
    }
    assert set(hookline.http.__all__) == public - modules


async def test_metrics_are_recorded(fault: FaultServer, base_url: str) -> None:
    """Requests by status class, retries, latency and breaker state appear in hookline's registry."""
    fault.script("/api/m", Step(503))
    async with client_for(settings(base_url), name="metrics-probe", clock=ManualClock()) as client:
        await client.request("GET", "/m", endpoint="m.get")
    text = generate_latest(REGISTRY).decode()
    assert (
        'hookline_http_requests_total{endpoint="m.get",provider="metrics-probe",status_class="5xx"} 1.0'
        in text
    )
    assert (
        'hookline_http_requests_total{endpoint="m.get",provider="metrics-probe",status_class="2xx"} 1.0'
        in text
    )
    assert (
        'hookline_http_retries_total{endpoint="m.get",provider="metrics-probe",status_class="5xx"} 1.0'
        in text
    )
    assert (
        'hookline_http_request_seconds_count{endpoint="m.get",provider="metrics-probe"} 2.0' in text
    )
    assert 'hookline_http_breaker_state{provider="metrics-probe"} 0.0' in text
