"""Colt eBonding v5 endpoint methods on the shared :class:`~hookline.http.client.ApiClient`.

Auth (OAuth2 client credentials), retries, the breaker, rate limits and the GET
cache are the ApiClient's; this module holds the endpoint methods, the mapping
of hookline's snake_case commands to Colt's camelCase bodies (docs/providers/colt.md#operations),
and Colt's error table (docs/providers/colt.md#errors-and-retries) as an :class:`ErrorMap`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from hookline.config.models import HooklineSettings, ProviderSettings
from hookline.config.secrets import Secret
from hookline.errors import ConfigError, ProviderUnavailable
from hookline.http.client import ApiClient
from hookline.http.errors import PERMANENT, StatusErrorMap
from hookline.messages import colt as m
from hookline.providers.base import with_defaults
from hookline.providers.probe import probe_read

# The guide's per-status base delays (doubled per retry; key 0 = network errors).
# The configuration's retry.status_delays_ms replaces the whole table when set.
STATUS_DELAYS_MS: dict[int, int] = {0: 5_000, 429: 60_000, 502: 10_000, 503: 30_000, 504: 10_000}

# Colt's status table (docs/providers/colt.md#errors-and-retries): 429/502/503/504 and network errors retry; 401 is
# class A (the ApiClient fetches a new token and tries once more); 500 is
# permanent ("contact support", not in the guide's retryable set); other 4xx
# are permanent. The 429 delay comes from x-ratelimit-reset (the retry policy).
COLT_ERRORS = StatusErrorMap({500: PERMANENT})


# What the Colt guide documents, where the configuration is silent: its retry table,
# a 30 s timeout and a breaker that opens after 5 failures for 60 s
# (docs/providers/colt.md). Its rate limit is the account's: configure it.
CLIENT_DEFAULTS: dict[str, Any] = {
    "timeout_seconds": 30.0,
    "retry": {"status_delays_ms": STATUS_DELAYS_MS},
    "breaker": {"failure_threshold": 5, "recovery_seconds": 60},
}


# A service id no Colt account has (Colt's ids start with SVC-).
PROBE_PATH = "/services/hookline-health-probe"


def with_colt_defaults(settings: ProviderSettings) -> ProviderSettings:
    """``providers.colt`` with the guide's defaults where the configuration leaves a field unset."""
    return with_defaults(settings, CLIENT_DEFAULTS)


# --------------------------------------------------------------------------- body mapping


def location_body(location: m.Location) -> dict[str, Any]:
    if location.address is not None:
        a = location.address
        return {
            "type": "address",
            "address": {
                "streetAddress": a.street_address,
                "city": a.city,
                "postalCode": a.postal_code,
                "country": a.country,
            },
        }
    assert location.coordinates is not None
    c = location.coordinates
    return {
        "type": "coordinates",
        "coordinates": {"latitude": c.latitude, "longitude": c.longitude},
    }


def availability_body(command: m.AvailabilityCheck) -> dict[str, Any]:
    return {
        "locations": [location_body(loc) for loc in command.locations],
        "serviceType": command.service_type,
        "bandwidth": str(command.bandwidth_mbps),
        "bandwidthUnit": "Mbps",
    }


def _endpoint(endpoint: m.Endpoint) -> dict[str, Any]:
    out: dict[str, Any] = {"referenceId": endpoint.reference_id}
    if endpoint.site_name is not None:
        out["siteName"] = endpoint.site_name
    return out


def quote_body(command: m.QuoteCreate) -> dict[str, Any]:
    services = []
    for s in command.services:
        locations = {"endpointA": _endpoint(s.locations.endpoint_a)}
        if s.locations.endpoint_b is not None:
            locations["endpointB"] = _endpoint(s.locations.endpoint_b)
        services.append(
            {
                "serviceType": s.service_type,
                "bandwidth": s.bandwidth,
                "bandwidthUnit": s.bandwidth_unit,
                "termMonths": s.term_months,
                "locations": locations,
                "protection": s.protection,
                "sla": s.sla,
            }
        )
    c = command.customer
    return {
        "customer": {
            "accountNumber": c.account_number,
            "companyName": c.company_name,
            "contactEmail": c.contact_email,
        },
        "services": services,
        "currency": command.currency,
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _contacts(contacts: list[m.Contact]) -> list[dict[str, Any]]:
    return [{"name": c.name, "email": c.email, "phone": c.phone, "role": c.role} for c in contacts]


def _site_access(site_access: dict[str, m.SiteAccess]) -> dict[str, Any]:
    return {
        _camel(key): {
            "accessHours": access.access_hours,
            "restrictions": access.restrictions,
            "contactName": access.contact_name,
            "contactPhone": access.contact_phone,
        }
        for key, access in site_access.items()
    }


def order_body(command: m.OrderSubmit, today: date) -> dict[str, Any]:
    delivery = command.requested_delivery_date or today + timedelta(days=30)
    return {
        "quoteId": command.quote_id,
        "purchaseOrderNumber": command.purchase_order_number,
        "requestedDeliveryDate": delivery.isoformat(),
        "technicalContacts": _contacts(command.technical_contacts),
        "siteAccess": _site_access(command.site_access),
    }


def modify_body(command: m.OrderModify) -> dict[str, Any]:
    """Only the fields the command changes."""
    body: dict[str, Any] = {}
    if command.requested_delivery_date is not None:
        body["requestedDeliveryDate"] = command.requested_delivery_date.isoformat()
    if command.technical_contacts is not None:
        body["technicalContacts"] = _contacts(command.technical_contacts)
    if command.site_access is not None:
        body["siteAccess"] = _site_access(command.site_access)
    return body


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- the client


class ColtClient:
    """One method per Colt operation; each returns Colt's JSON body."""

    def __init__(self, api: ApiClient, clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: ProviderSettings,
        *,
        redis_url: Secret | str | None = None,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> ColtClient:
        api = ApiClient(
            "colt",
            with_colt_defaults(settings),
            errors=COLT_ERRORS,
            redis_url=redis_url,
            transport=transport,
        )
        return cls(api, clock)

    async def aclose(self) -> None:
        await self.api.aclose()

    async def health(self) -> bool:
        """Token, then a service read. Colt's reads all take an id: asking for one that
        does not exist, its 404 proves the gateway took the token and the API answered
        (``health.path: /services/SVC-…`` reads a real one instead)."""
        return await probe_read(self.api, PROBE_PATH, absent_ok=True)

    async def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderUnavailable(
                "Colt answered a body that is not JSON", code="MALFORMED_RESPONSE"
            ) from exc
        if not isinstance(body, dict):
            raise ProviderUnavailable(
                "Colt answered JSON that is not an object", code="MALFORMED_RESPONSE"
            )
        return body

    async def check_availability(
        self, command: m.AvailabilityCheck, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        # A read: retrying it is harmless, so the key only helps correlate.
        response = await self.api.request(
            "POST",
            "/availability/check",
            endpoint="availability",
            json=availability_body(command),
            idempotency_key=idempotency_key,
        )
        return await self._json(response)

    async def create_quote(self, command: m.QuoteCreate, *, idempotency_key: str) -> dict[str, Any]:
        response = await self.api.request(
            "POST",
            "/quotes/create",
            endpoint="quote_create",
            json=quote_body(command),
            idempotency_key=idempotency_key,
        )
        return await self._json(response)

    async def get_quote(self, quote_id: str) -> dict[str, Any]:
        return await self._json(
            await self.api.request("GET", f"/quotes/{quote_id}", endpoint="quote")
        )

    async def submit_order(self, command: m.OrderSubmit, *, idempotency_key: str) -> dict[str, Any]:
        """One submit, never repeated here after it may have reached Colt.

        Colt does not document honouring ``Idempotency-Key``, so the key goes as a
        plain header: the ApiClient then repeats the POST only when Colt provably
        did nothing (connection refused, 429). After a timeout the caller reads
        the quote to find the order before submitting again.
        """
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        response = await self.api.request(
            "POST",
            "/orders/submit",
            endpoint="order_submit",
            json=order_body(command, today),
            headers={"Idempotency-Key": idempotency_key},
        )
        return await self._json(response)

    async def modify_order(self, command: m.OrderModify, *, idempotency_key: str) -> dict[str, Any]:
        # Repeating a modification sets the same values again: safe to retry.
        response = await self.api.request(
            "POST",
            f"/orders/{command.order_id}/modify",
            endpoint="order_modify",
            json=modify_body(command),
            idempotency_key=idempotency_key,
        )
        return await self._json(response)

    async def cancel_order(
        self, order_id: str, *, reason: str | None, idempotency_key: str
    ) -> dict[str, Any]:
        # Cancelling a cancelled order answers the same cancellation: safe to retry.
        response = await self.api.request(
            "POST",
            f"/orders/{order_id}/cancel",
            endpoint="order_cancel",
            json={"reason": reason} if reason else {},
            idempotency_key=idempotency_key,
        )
        return await self._json(response)

    async def order_status(self, order_id: str) -> dict[str, Any]:
        response = await self.api.request(
            "GET", f"/orders/{order_id}/status", endpoint="order_status"
        )
        return await self._json(response)

    async def service(self, service_id: str) -> dict[str, Any]:
        response = await self.api.request("GET", f"/services/{service_id}", endpoint="service")
        return await self._json(response)

    async def usage(
        self, service_id: str, *, window_hours: int = 1, granularity: str = "hourly"
    ) -> dict[str, Any]:
        end = datetime.fromtimestamp(self.clock(), UTC)
        start = end - timedelta(hours=window_hours)
        response = await self.api.request(
            "GET",
            f"/usage/{service_id}",
            endpoint="usage",
            params={
                "startDate": _rfc3339(start),
                "endDate": _rfc3339(end),
                "granularity": granularity,
            },
        )
        return await self._json(response)


def from_settings(settings: HooklineSettings) -> ColtClient:
    """The client over ``providers.colt``, sharing breakers and rate windows through Redis when set."""
    provider = settings.providers.get("colt")
    if provider is None:
        raise ConfigError("worker colt needs providers.colt (base_url, auth) in the configuration")
    # The Secret itself: a file: URL's password rotates with the file.
    return ColtClient.from_settings(provider, redis_url=settings.redis_url)
