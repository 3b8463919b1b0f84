"""The Colt simulator answers like docs/providers/colt.md and notifies the real ingress, signed."""

from __future__ import annotations

from typing import Any

import httpx

from hookline.messages.colt import OrderStateChanged
from tests.providers.colt.conftest import CLIENT_ID, CLIENT_SECRET, ColtStack, StartColt

API = "/ebonding/v5"
ORDER = {
    "purchaseOrderNumber": "PO-98765",
    "technicalContacts": [
        {
            "name": "John Smith",
            "email": "john.smith@example.com",
            "phone": "+44 20 7946 0958",
            "role": "primary",
        }
    ],
    "siteAccess": {
        "endpointA": {
            "accessHours": "24x7",
            "restrictions": "None",
            "contactName": "Site Manager A",
            "contactPhone": "+44 20 7946 0959",
        }
    },
}
QUOTE = {
    "customer": {
        "accountNumber": "CUST-12345",
        "companyName": "Example Corp",
        "contactEmail": "procurement@example.com",
    },
    "services": [
        {
            "serviceType": "ethernet",
            "bandwidth": "1000",
            "bandwidthUnit": "Mbps",
            "termMonths": 36,
            "locations": {
                "endpointA": {"referenceId": "loc-001", "siteName": "London HQ"},
                "endpointB": {"referenceId": "loc-002", "siteName": "Manchester DC"},
            },
            "protection": "protected",
            "sla": "premium",
        }
    ],
}


async def token(colt: ColtStack, client_id: str = CLIENT_ID) -> dict[str, str]:
    response = await colt.http.post(
        f"{colt.sim_url}/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": CLIENT_SECRET,
            "scope": "ebonding.read ebonding.write",
        },
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def call(
    colt: ColtStack, method: str, path: str, headers: dict[str, str], **kw: Any
) -> httpx.Response:
    return await colt.http.request(method, f"{colt.sim_url}{API}{path}", headers=headers, **kw)


async def quote_id(colt: ColtStack, auth: dict[str, str]) -> str:
    response = await call(colt, "POST", "/quotes/create", auth, json=QUOTE)
    assert response.status_code == 201, response.text
    return str(response.json()["quoteId"])


async def test_validation_errors_carry_field_details(colt: ColtStack) -> None:
    """A missing postal code answers 400 INVALID_REQUEST with the field path, and rate headers."""
    auth = await token(colt)
    body = {
        "locations": [
            {
                "type": "address",
                "address": {"streetAddress": "1 Canada Square", "city": "London", "country": "GB"},
            }
        ],
        "bandwidth": "1000",
    }
    response = await call(colt, "POST", "/availability/check", auth, json=body)
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "INVALID_REQUEST",
            "message": "Validation failed",
            "details": [{"field": "locations[0].address.postalCode", "issue": "required"}],
        }
    }
    assert response.headers["x-ratelimit-limit"] == "100"
    assert int(response.headers["x-ratelimit-reset"]) > 0


async def test_availability_answers_each_location_in_order(colt: ColtStack) -> None:
    """loc-001, loc-002 … in request order; ZZ1 1ZZ and (0, 0) are not serviceable."""
    auth = await token(colt)
    body = {
        "locations": [
            {
                "type": "address",
                "address": {
                    "streetAddress": "1 Canada Square",
                    "city": "London",
                    "postalCode": "E14 5AB",
                    "country": "GB",
                },
            },
            {
                "type": "address",
                "address": {
                    "streetAddress": "Nowhere",
                    "city": "X",
                    "postalCode": "ZZ1 1ZZ",
                    "country": "GB",
                },
            },
            {"type": "coordinates", "coordinates": {"latitude": 0, "longitude": 0}},
        ],
        "serviceType": "ethernet",
        "bandwidth": "1000",
        "bandwidthUnit": "Mbps",
    }
    response = await call(colt, "POST", "/availability/check", auth, json=body)
    assert response.status_code == 200
    results = response.json()["availability"]
    assert [r["locationId"] for r in results] == ["loc-001", "loc-002", "loc-003"]
    assert [r["serviceable"] for r in results] == [True, False, False]
    assert results[1]["services"] == []


async def test_quote_total_follows_the_formula(colt: ColtStack) -> None:
    """totalContractValue = Σ NRC + Σ MRC × termMonths; GET adds customer and services."""
    auth = await token(colt)
    qid = await quote_id(colt, auth)
    quote = (await call(colt, "GET", f"/quotes/{qid}", auth)).json()
    items = quote["pricing"]["lineItems"]
    expected = sum(i["nonRecurringCharge"] for i in items) + sum(
        i["monthlyRecurringCharge"] * i["termMonths"] for i in items
    )
    assert quote["pricing"]["totals"]["totalContractValue"] == round(expected, 2)
    assert quote["customer"]["accountNumber"] == "CUST-12345"


async def test_expired_token_is_refused_and_scopes_are_enforced(colt: ColtStack) -> None:
    """An expired token answers 401; a read-only token cannot POST (403)."""
    auth = await token(colt)
    assert (await colt.http.post(f"{colt.sim_url}/_sim/tokens/expire")).json() == {"expired": 1}
    response = await call(colt, "GET", "/quotes/Q-1", auth)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    read_only = await colt.http.post(
        f"{colt.sim_url}/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": "s",
            "scope": "ebonding.read",
        },
    )
    headers = {"Authorization": f"Bearer {read_only.json()['access_token']}"}
    assert (await call(colt, "POST", "/quotes/create", headers, json=QUOTE)).status_code == 403
    bad = await colt.http.post(f"{colt.sim_url}/auth/token", data={"grant_type": "password"})
    assert (bad.status_code, bad.json()) == (400, {"error": "unsupported_grant_type"})


async def test_rate_limit_answers_429_with_reset(start_colt: StartColt) -> None:
    """Over the per-client window the simulator answers 429 RATE_LIMIT_EXCEEDED with x-ratelimit-reset."""
    async with start_colt(sandbox_extra={"rate_limit_per_minute": 2}) as colt:
        auth = await token(colt)
        statuses = [
            (await call(colt, "GET", "/services/SVC-1", auth)).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        limited = await call(colt, "GET", "/services/SVC-1", auth)
        assert limited.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert limited.headers["x-ratelimit-remaining"] == "0"


async def test_idempotency_key_is_scoped_to_the_client_not_the_token(colt: ColtStack) -> None:
    """A repeat submit with a new token of the same client gets the first order back; one order exists."""
    first_auth = await token(colt)
    qid = await quote_id(colt, first_auth)
    body = {"quoteId": qid, **ORDER}
    first = await call(
        colt, "POST", "/orders/submit", {**first_auth, "Idempotency-Key": "cmd-1"}, json=body
    )
    second_auth = await token(colt)  # e.g. a restarted worker
    again = await call(
        colt, "POST", "/orders/submit", {**second_auth, "Idempotency-Key": "cmd-1"}, json=body
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    state = await colt.state()
    assert list(state["entities"]["orders"]) == [first.json()["orderId"]]
    assert state["idempotency"]["repeats"] == 1
    other = await call(
        colt, "POST", "/orders/submit", {**first_auth, "Idempotency-Key": "cmd-2"}, json=body
    )
    assert (other.status_code, other.json()["error"]["code"]) == (409, "QUOTE_ALREADY_ORDERED")


async def test_a_refused_request_is_not_replayed_to_its_valid_retry(colt: ColtStack) -> None:
    """A 401 under an Idempotency-Key does not stick: the retry with a fresh token runs for real."""
    auth = await token(colt)
    qid = await quote_id(colt, auth)
    await colt.http.post(f"{colt.sim_url}/_sim/tokens/expire")
    body = {"quoteId": qid, **ORDER}
    refused = await call(
        colt, "POST", "/orders/submit", {**auth, "Idempotency-Key": "cmd-9"}, json=body
    )
    assert refused.status_code == 401
    retried = await call(
        colt, "POST", "/orders/submit", {**await token(colt), "Idempotency-Key": "cmd-9"}, json=body
    )
    assert retried.status_code == 201


async def test_lifecycle_notifications_reach_the_ingress_signed(start_colt: StartColt) -> None:
    """acknowledged → in_progress → completed on ticks; each change is one verified colt event."""
    async with start_colt(tick_ms=100) as colt:
        auth = await token(colt)
        qid = await quote_id(colt, auth)
        order = (
            await call(colt, "POST", "/orders/submit", auth, json={"quoteId": qid, **ORDER})
        ).json()
        events = await colt.wait_for(
            lambda evs: sum(e.subject == order["orderId"] for e in evs) >= 2
        )
        changes = [
            OrderStateChanged.model_validate(e.data)
            for e in events
            if e.subject == order["orderId"]
        ]
        assert [(c.previous_status, c.status) for c in changes] == [
            ("acknowledged", "in_progress"),
            ("in_progress", "completed"),
        ]
        assert changes[-1].service_id is not None
        status = (await call(colt, "GET", f"/orders/{order['orderId']}/status", auth)).json()
        assert (status["overallStatus"], status["percentComplete"]) == ("completed", 100)
        state = await colt.state()
        assert state["callbacks"]["delivered"] == 2


async def test_rejected_and_delayed_purchase_orders(start_colt: StartColt) -> None:
    """PO with REJECT ends rejected (credit check failed); DELAY passes through delayed (wayleave pending)."""
    async with start_colt(tick_ms=50) as colt:
        auth = await token(colt)
        orders = []
        for po in ("PO-REJECT-1", "PO-DELAY-1"):
            qid = await quote_id(colt, auth)
            body = {"quoteId": qid, **ORDER, "purchaseOrderNumber": po}
            orders.append(
                (await call(colt, "POST", "/orders/submit", auth, json=body)).json()["orderId"]
            )
        rejected, delayed = orders
        events = await colt.wait_for(
            lambda evs: any(e.subject == delayed and e.data["status"] == "completed" for e in evs)
        )
        assert [(e.data["status"], e.data["reason"]) for e in events if e.subject == rejected] == [
            ("rejected", "credit check failed")
        ]
        assert [e.data["status"] for e in events if e.subject == delayed] == [
            "in_progress",
            "delayed",
            "in_progress",
            "completed",
        ]


async def test_bad_signature_is_rejected_and_publishes_nothing(colt: ColtStack) -> None:
    """An emitted notification with one flipped signature byte gets 401 and no event."""
    await colt.emit(event="order.state_changed", entity_id="ORD-BAD-1", bad_signature=True)
    good = await colt.emit(event="order.state_changed", entity_id="ORD-GOOD-1")
    events = await colt.wait_for(lambda evs: any(e.subject == "ORD-GOOD-1" for e in evs))
    assert [e.subject for e in events] == ["ORD-GOOD-1"]
    assert events[0].providereventid == good
    state = await colt.state()
    # The refused delivery is not counted as delivered; the simulator retries it (docs/providers/simulators.md#callbacks).
    assert (state["callbacks"]["delivered"], state["callbacks"]["retrying"]) == (1, 1)


async def test_hot_service_usage_triggers_a_utilization_alert(colt: ColtStack) -> None:
    """Reading usage of a HOT service answers peak 95 % and sends a service.alert notification."""
    auth = await token(colt)
    usage = await call(
        colt,
        "GET",
        "/usage/SVC-ETHERNET-HOT-1",
        auth,
        params={
            "startDate": "2025-03-01T09:00:00Z",
            "endDate": "2025-03-01T10:00:00Z",
            "granularity": "hourly",
        },
    )
    assert usage.json()["usage"][-1]["metrics"]["peakUtilizationPercent"] == 95.0
    events = await colt.wait_for(lambda evs: len(evs) >= 1)
    assert [(e.type, e.subject, e.data["origin"]) for e in events] == [
        ("colt.service.utilization_high", "SVC-ETHERNET-HOT-1", "webhook")
    ]
    bad = await call(
        colt,
        "GET",
        "/usage/SVC-1",
        auth,
        params={"startDate": "2025-03-02", "endDate": "2025-03-01"},
    )
    assert bad.json()["error"]["details"] == [
        {"field": "endDate", "issue": "must be after startDate"}
    ]
