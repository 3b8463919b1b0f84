"""The Colt adapter turns notifications into colt.* CloudEvents keyed by entity (docs/providers/colt.md#events)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hookline.envelope import event_id
from hookline.errors import NormalizationError
from hookline.messages.colt import OrderStateChanged
from hookline.providers.base import RawWebhook
from hookline.providers.colt import SPEC, ColtAdapter, samples
from hookline.providers.colt.models import to_e164
from hookline.signatures.base import Headers

RECEIVED = datetime(2025, 3, 21, 10, 0, 9, tzinfo=UTC)


def raw(payload: Any, headers: dict[str, str] | None = None) -> RawWebhook:
    body = json.dumps(payload).encode()
    return RawWebhook(
        source="colt",
        provider="colt",
        body=body,
        content_type="application/json",
        headers=Headers(headers or {}),
        query={},
        received_at=RECEIVED,
        payload=payload,
    )


def sample(name: str) -> Any:
    return json.loads(next(s.body for s in samples() if s.name == name))


def test_order_state_changed_is_keyed_by_order_with_primary_contact_in_e164() -> None:
    """order.state_changed → colt.order.state_changed, subject order id, contact phone E.164."""
    [event] = ColtAdapter().normalize(raw(sample("order-completed")))
    assert event.type == "colt.order.state_changed"
    assert event.subject == event.partitionkey == "ORD-100234"
    # A final status's provider event id is "{orderId}:{status}" (the reconciler rebuilds it).
    assert event.providereventid == "ORD-100234:completed"
    assert event.id == event_id("/hookline/sources/colt", "ORD-100234:completed")
    assert event.time == datetime(2025, 3, 20, 16, 2, 11, tzinfo=UTC)
    data = OrderStateChanged.model_validate(event.data)
    assert (data.previous_status, data.status, data.percent_complete) == (
        "in_progress",
        "completed",
        100,
    )
    assert data.service_id == "SVC-ETHERNET-123456"
    assert data.technical_contact is not None
    assert data.technical_contact.phone == "+442079460958"
    assert data.technical_contact.role == "primary"


@pytest.mark.parametrize(
    ("name", "type_", "subject", "field", "value", "threshold"),
    [
        (
            "service-alert-utilization",
            "colt.service.utilization_high",
            "SVC-ETHERNET-123456",
            "peak_utilization_percent",
            93.4,
            90.0,
        ),
        (
            "service-alert-availability",
            "colt.service.availability_low",
            "SVC-ETHERNET-FLAKY-7",
            "availability_percent",
            99.5,
            99.9,
        ),
    ],
)
def test_service_alerts_become_threshold_events(
    name: str, type_: str, subject: str, field: str, value: float, threshold: float
) -> None:
    """service.alert → utilization_high / availability_low keyed by service id, origin webhook."""
    [event] = ColtAdapter().normalize(raw(sample(name)))
    assert (event.type, event.subject) == (type_, subject)
    assert event.data[field] == value
    assert event.data["threshold_percent"] == threshold
    assert event.data["origin"] == "webhook"


def test_first_contact_is_used_when_none_is_primary() -> None:
    """Without a primary contact, technical_contact is the first one."""
    payload = sample("order-in-progress")
    payload["data"]["technicalContacts"] = [
        {"name": "A", "email": "a@example.com", "phone": "020 7946 0958", "role": "billing"},
        {"name": "B", "email": "b@example.com", "phone": "0044 161 123 4567", "role": "site"},
    ]
    [event] = ColtAdapter().normalize(raw(payload))
    assert event.data["technical_contact"]["name"] == "A"
    assert event.data["technical_contact"]["phone"] is None  # national number: no safe E.164
    assert event.data["technical_contacts"][1]["phone"] == "+441611234567"


def test_event_id_header_is_used_when_the_body_has_none() -> None:
    """X-Colt-Event-Id supplies the provider event id when the body lacks eventId."""
    payload = sample("order-in-progress")
    del payload["eventId"]
    [event] = ColtAdapter().normalize(raw(payload, {"X-Colt-Event-Id": "evt_hdr"}))
    assert event.providereventid == "evt_hdr"


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"eventType": "order.state_changed", "data": {}},
        {
            "eventId": "e1",
            "eventType": "order.state_changed",
            "data": {"orderId": "O1", "status": "lost"},
        },
        {"eventId": "e1", "eventType": "order.exploded", "data": {}},
        {
            "eventId": "e1",
            "eventType": "service.alert",
            "data": {"serviceId": "S", "alertType": "latency", "value": 1},
        },
    ],
)
def test_invalid_notifications_raise_normalization_error(payload: Any) -> None:
    """Anything that is not a valid Colt notification raises NormalizationError only."""
    with pytest.raises(NormalizationError):
        ColtAdapter().normalize(raw(payload))


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("0044 20 7946 0958", "+442079460958"),
        ("020 7946 0958", None),
        ("", None),
        (None, None),
    ],
)
def test_phone_numbers_are_normalized_to_e164(phone: str | None, e164: str | None) -> None:
    """Contact phones with spacing become E.164; national numbers become null."""
    assert to_e164(phone) == e164


def test_every_sample_normalizes() -> None:
    """Each shipped sample is a valid notification (hookline send colt uses them)."""
    assert SPEC.name == "colt"
    for item in SPEC.samples():
        assert len(ColtAdapter().normalize(raw(json.loads(item.body)))) == 1


def test_every_colt_type_is_in_the_catalog_with_a_json_schema() -> None:
    """catalog.all_types() lists each Colt event and command, and each model renders a JSON Schema."""
    from hookline.messages import all_types
    from hookline.messages.colt import MESSAGE_TYPES

    catalog = all_types()
    for message in MESSAGE_TYPES:
        assert catalog[message.type].model is message.model
        schema = message.model.model_json_schema()
        assert schema["type"] == "object"
        assert message.topic in ("events.colt", "commands.colt")
