"""Colt's status table (docs/providers/colt.md#errors-and-retries) and body mapping (docs/providers/colt.md#operations), as the client applies them."""

from __future__ import annotations

import dataclasses
from datetime import date

import httpx
import pytest

from hookline.config.models import ProviderSettings
from hookline.errors import PermanentError, ProviderRejected, ProviderUnavailable
from hookline.http.retry import RetryPolicy
from hookline.messages import colt as m
from hookline.providers.colt.client import COLT_ERRORS, order_body, with_colt_defaults

NOW = 1_750_000_000.0


def policy() -> RetryPolicy:
    settings = with_colt_defaults(ProviderSettings(base_url="https://api.colt.net/ebonding/v5"))
    # No jitter: the wait is what the table states.
    return dataclasses.replace(
        RetryPolicy.from_settings(settings.retry),
        jitter=lambda cap: cap,
        floor_jitter=lambda floor: floor,
    )


def answer(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "first", "second"),
    [
        (429, 60.0, 120.0),
        (502, 10.0, 20.0),
        (503, 30.0, 60.0),
        (504, 10.0, 20.0),
        (None, 5.0, 10.0),
    ],
)
def test_retry_delays_follow_the_guide(status: int | None, first: float, second: float) -> None:
    """Delay before retry n is base × 2^(n−1) with the guide's per-status bases."""
    assert (policy().backoff(1, status), policy().backoff(2, status)) == (first, second)


@pytest.mark.parametrize(
    ("status", "guide"), [(429, 60.0), (502, 10.0), (503, 30.0), (504, 10.0), (None, 5.0)]
)
def test_jittered_waits_never_go_below_the_guide(status: int | None, guide: float) -> None:
    """With the real jitter, every wait is at least the guide's (doubling per retry), at most +20 %."""
    settings = with_colt_defaults(ProviderSettings(base_url="https://api.colt.net/ebonding/v5"))
    real = RetryPolicy.from_settings(settings.retry)
    for attempt in (1, 2, 3):
        floor = guide * 2 ** (attempt - 1)
        waits = [real.backoff(attempt, status) for _ in range(500)]
        assert min(waits) >= floor
        assert max(waits) <= floor * 1.2
        assert max(waits) > floor  # jitter is on: waits spread upward


def test_rate_limit_reset_header_sets_the_delay() -> None:
    """x-ratelimit-reset (epoch seconds) replaces the backoff, never under 1 s."""
    later = httpx.Headers({"x-ratelimit-reset": str(int(NOW) + 7)})
    past = httpx.Headers({"x-ratelimit-reset": str(int(NOW) - 30)})
    assert policy().delay(1, 429, later, NOW) == 7.0
    assert policy().delay(1, 429, past, NOW) == 1.0


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (403, False),
        (404, False),
        (409, False),
        (500, False),
        (429, True),
        (502, True),
        (503, True),
        (504, True),
    ],
)
def test_status_classes(status: int, retryable: bool) -> None:
    """4xx and 500 are permanent; 429, 502, 503 and 504 retry."""
    error = COLT_ERRORS.classify(answer(status, {"error": {"code": "X", "message": "m"}}))
    assert isinstance(error, ProviderUnavailable if retryable else ProviderRejected)


def test_validation_error_keeps_code_and_field_details() -> None:
    """A 400 reports Colt's code, message and field: issue pairs."""
    body = {
        "error": {
            "code": "INVALID_REQUEST",
            "message": "Validation failed",
            "details": [{"field": "locations[0].address.postalCode", "issue": "required"}],
        }
    }
    error = COLT_ERRORS.classify(answer(400, body))
    assert isinstance(error, PermanentError)
    assert error.code == "INVALID_REQUEST"
    assert "locations[0].address.postalCode: required" in str(error)
    assert COLT_ERRORS.classify(answer(201, {"orderId": "ORD-1"})) is None


def test_order_body_maps_snake_case_and_defaults_the_delivery_date() -> None:
    """The command's snake_case becomes Colt's camelCase; no date means today + 30 days."""
    command = m.OrderSubmit(
        quote_id="Q-1",
        purchase_order_number="PO-1",
        technical_contacts=[m.Contact(name="J", email="j@example.com", phone="+44 20 7946 0958")],
        site_access={
            "endpoint_a": m.SiteAccess(access_hours="24x7", contact_name="A", contact_phone="+1")
        },
    )
    body = order_body(command, date(2025, 3, 1))
    assert body["requestedDeliveryDate"] == "2025-03-31"
    assert body["technicalContacts"][0]["role"] == "primary"
    assert body["siteAccess"] == {
        "endpointA": {
            "accessHours": "24x7",
            "restrictions": "None",
            "contactName": "A",
            "contactPhone": "+1",
        }
    }
