"""Retries against a real server: which answers are retried, how long the client waits, when it stops."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from hookline.bus.broker import free_port
from hookline.errors import ProviderRejected, ProviderUnavailable
from hookline.http import ManualClock
from tests.http.conftest import client_for, settings
from tests.http.fault_server import FaultServer, Step

PATH = "/api/orders"


@pytest.mark.parametrize("statuses", [[503], [502, 504], [503, 502]])
async def test_transient_errors_then_success(
    fault: FaultServer, base_url: str, statuses: list[int]
) -> None:
    """A GET that meets 502/503/504 answers is retried until the 200 arrives."""
    fault.script(PATH, *(Step(s) for s in statuses))
    clock = ManualClock()
    async with client_for(settings(base_url), clock=clock) as client:
        response = await client.request("GET", "/orders", endpoint="orders.list")
    assert response.status_code == 200
    assert fault.hits(PATH) == len(statuses) + 1
    assert len(clock.sleeps) == len(statuses)


async def test_per_status_base_delays_grow_exponentially(fault: FaultServer, base_url: str) -> None:
    """retry.status_delays_ms gives each status its base delay, doubled per retry (Colt's table)."""
    fault.script(PATH, Step(503), Step(503), Step(502))
    clock = ManualClock()
    provider = settings(
        base_url,
        retry={
            "max_attempts": 4,
            "status_delays_ms": {503: 3000, 502: 1000},
            "deadline_seconds": 60,
        },
    )
    async with client_for(provider, clock=clock, exact_backoff=True) as client:
        await client.request("GET", "/orders")
    assert clock.sleeps == [3.0, 6.0, 4.0]


async def test_documented_waits_are_minimums_jitter_only_adds(
    fault: FaultServer, base_url: str
) -> None:
    """With jitter on, a per-status (documented) wait lies in [base × 2^(n−1), 1.2 × that]."""
    fault.script(PATH, Step(503), Step(503))
    clock = ManualClock()
    provider = settings(base_url, retry={"status_delays_ms": {503: 2000}})
    async with client_for(provider, clock=clock) as client:
        await client.request("GET", "/orders")
    assert len(clock.sleeps) == 2
    assert 2.0 <= clock.sleeps[0] <= 2.4
    assert 4.0 <= clock.sleeps[1] <= 4.8


async def test_full_jitter_stays_under_the_exponential_cap(
    fault: FaultServer, base_url: str
) -> None:
    """Without a documented wait, every jittered wait lies in [0, base × 2^(n−1)]."""
    fault.script(PATH, Step(503), Step(503))
    clock = ManualClock()
    provider = settings(base_url, retry={"base_delay_ms": 2000, "max_delay_ms": 60_000})
    async with client_for(provider, clock=clock) as client:
        await client.request("GET", "/orders")
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 2.0
    assert 0 <= clock.sleeps[1] <= 4.0


async def test_retry_after_seconds_is_honoured(fault: FaultServer, base_url: str) -> None:
    """A 429 with Retry-After: 7 makes the client wait exactly 7 s (injectable clock) before retrying."""
    fault.script(PATH, Step(429, headers={"Retry-After": "7"}))
    clock = ManualClock()
    async with client_for(settings(base_url), clock=clock) as client:
        response = await client.request("GET", "/orders")
    assert response.status_code == 200
    assert clock.sleeps == [7.0]


async def test_retry_after_http_date_is_honoured(fault: FaultServer, base_url: str) -> None:
    """Retry-After as an HTTP date is turned into the remaining seconds."""
    when = datetime.now(UTC) + timedelta(seconds=5)
    fault.script(PATH, Step(503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    clock = ManualClock()
    async with client_for(settings(base_url), clock=clock) as client:
        await client.request("GET", "/orders")
    assert len(clock.sleeps) == 1
    assert 3.5 <= clock.sleeps[0] <= 5.5  # the date has one-second resolution


@pytest.mark.parametrize("header", ["x-ratelimit-reset", "X-RateLimit-Reset"])
async def test_ratelimit_reset_epoch_is_honoured(
    fault: FaultServer, base_url: str, header: str
) -> None:
    """A 429 with X-RateLimit-Reset (epoch seconds, any case) waits until the reset."""
    reset = int(time.time()) + 4
    fault.script(PATH, Step(429, headers={header: str(reset)}))
    clock = ManualClock()
    async with client_for(settings(base_url), clock=clock) as client:
        await client.request("GET", "/orders")
    assert len(clock.sleeps) == 1
    assert 2.5 <= clock.sleeps[0] <= 4.5


async def test_retry_after_measured_on_the_server(fault: FaultServer, base_url: str) -> None:
    """With the real clock, the retry reaches the server no earlier than Retry-After says."""
    fault.script(PATH, Step(429, headers={"Retry-After": "1"}))
    async with client_for(settings(base_url)) as client:
        await client.request("GET", "/orders")
    first, second = fault.seen(PATH)
    assert second.at - first.at >= 0.95


async def test_delay_over_inline_max_raises_at_once(fault: FaultServer, base_url: str) -> None:
    """A wait longer than inline_max_delay_ms is not slept: the error carries retry_after for the worker."""
    fault.script(PATH, Step(429, headers={"Retry-After": "120"}))
    clock = ManualClock()
    async with client_for(
        settings(base_url, retry={"inline_max_delay_ms": 10_000}), clock=clock
    ) as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.request("GET", "/orders")
    assert caught.value.retry_after == 120.0
    assert fault.hits(PATH) == 1
    assert clock.sleeps == []


async def test_exhausted_attempts_raise_with_retry_after(fault: FaultServer, base_url: str) -> None:
    """After max_attempts the provider's error surfaces as ProviderUnavailable with code and retry_after."""
    error = {"error": {"code": "SERVICE_UNAVAILABLE", "message": "maintenance"}}
    fault.script(PATH, *[Step(503, json=error)] * 3)
    clock = ManualClock()
    async with client_for(settings(base_url), clock=clock) as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.request("GET", "/orders")
    assert fault.hits(PATH) == 3
    assert caught.value.code == "SERVICE_UNAVAILABLE"
    assert "maintenance" in str(caught.value)
    assert caught.value.retry_after is not None


async def test_deadline_stops_retries(fault: FaultServer, base_url: str) -> None:
    """A retry whose wait would end past the call's deadline is not attempted."""
    fault.script(PATH, *[Step(503)] * 5)
    clock = ManualClock()
    provider = settings(base_url, retry={"max_attempts": 5, "status_delays_ms": {503: 800}})
    async with client_for(provider, clock=clock, exact_backoff=True) as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.request("GET", "/orders", deadline=1.0)
    # 0.8 s fits into the 1 s budget, the next 1.6 s does not.
    assert clock.sleeps == [0.8]
    assert fault.hits(PATH) == 2
    assert caught.value.retry_after == pytest.approx(1.6)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "INVALID_REQUEST"), (404, "NOT_FOUND"), (409, "QUOTE_EXPIRED"), (422, "INVALID")],
)
async def test_client_errors_are_not_retried(
    fault: FaultServer, base_url: str, status: int, code: str
) -> None:
    """400/404/409/422 raise ProviderRejected after one attempt, with the provider's code."""
    fault.script(PATH, Step(status, json={"error": {"code": code, "message": "no"}}))
    async with client_for(settings(base_url)) as client:
        with pytest.raises(ProviderRejected) as caught:
            await client.request("GET", "/orders")
    assert fault.hits(PATH) == 1
    assert caught.value.code == code


async def test_post_without_idempotency_key_is_not_retried(
    fault: FaultServer, base_url: str
) -> None:
    """A POST that met a 503 may have had an effect: without an Idempotency-Key it is not repeated."""
    fault.script(PATH, Step(503), Step(503))
    async with client_for(settings(base_url), clock=ManualClock()) as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.request("POST", "/orders", json={"a": 1})
    assert fault.hits(PATH) == 1
    assert caught.value.retry_after is not None


async def test_post_with_idempotency_key_is_retried_with_the_same_key(
    fault: FaultServer, base_url: str
) -> None:
    """With an Idempotency-Key the POST is retried, and every attempt carries the same key."""
    fault.script(PATH, Step(503), Step(504))
    async with client_for(settings(base_url), clock=ManualClock()) as client:
        response = await client.request("POST", "/orders", json={"a": 1}, idempotency_key="cmd-42")
    assert response.status_code == 200
    keys = [seen.headers.get("idempotency-key") for seen in fault.seen(PATH)]
    assert keys == ["cmd-42", "cmd-42", "cmd-42"]


async def test_read_timeout_is_retried(fault: FaultServer, base_url: str) -> None:
    """A server slower than the read timeout is a retryable timeout; the next attempt succeeds."""
    fault.script(PATH, Step(200, delay=0.6))
    provider = settings(base_url, timeout_seconds=0.15)
    async with client_for(provider, clock=ManualClock()) as client:
        response = await client.request("GET", "/orders")
    assert response.status_code == 200
    assert fault.hits(PATH) == 2


async def test_read_timeouts_exhaust_into_provider_unavailable(
    fault: FaultServer, base_url: str
) -> None:
    """Only timeouts: ProviderUnavailable with code TIMEOUT after max_attempts."""
    fault.script(PATH, *[Step(200, delay=0.5)] * 2)
    provider = settings(base_url, timeout_seconds=0.1, retry={"max_attempts": 2})
    async with client_for(provider, clock=ManualClock()) as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.request("GET", "/orders")
    assert caught.value.code == "TIMEOUT"
    assert fault.hits(PATH) == 2


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_connection_refused_is_retried_then_unavailable(method: str) -> None:
    """Nothing listening: every method is retried (nothing was sent), then ProviderUnavailable NETWORK."""
    clock = ManualClock()
    provider = settings(f"http://127.0.0.1:{free_port()}")
    async with client_for(provider, clock=clock) as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.request(method, "/orders")
    assert caught.value.code == "NETWORK"
    assert len(clock.sleeps) == 2
    assert isinstance(caught.value.__cause__, Exception)
