"""Twilio status callbacks normalize to sms.message.* events (docs/providers/twilio.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from hookline.errors import NormalizationError
from hookline.providers.base import RawWebhook, parse_body
from hookline.providers.registry import PROVIDERS
from hookline.providers.twilio import SPEC
from hookline.signatures.base import Headers

FORM = "application/x-www-form-urlencoded"
MID = "7b0e2f6c-3f1a-4e55-9a0b-1c2d3e4f5a6b"


def raw(fields: dict[str, str], ref: str | None = MID) -> RawWebhook:
    body = urlencode(fields).encode()
    return RawWebhook(
        source="sms-twilio",
        provider="twilio",
        body=body,
        content_type=FORM,
        headers=Headers(),
        query={"ref": ref} if ref else {},
        received_at=datetime(2025, 3, 1, 10, 15, tzinfo=UTC),
        payload=parse_body(body, FORM),
    )


def fields(status: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": "SMabc",
        "SmsSid": "SMabc",
        "AccountSid": "AC1",
        "From": "+15017122661",
        "To": "+14155550123",
        "MessageStatus": status,
        "SmsStatus": status,
        **extra,
    }


@pytest.mark.parametrize(
    ("status", "error", "type_", "eligible"),
    [
        ("queued", None, "sms.message.queued", None),
        ("sending", None, "sms.message.queued", None),
        ("sent", None, "sms.message.sent", None),
        ("delivered", None, "sms.message.delivered", None),
        ("undelivered", "30003", "sms.message.undelivered", True),
        ("failed", "30007", "sms.message.undelivered", True),
        ("undelivered", "30005", "sms.message.undelivered", False),
        ("failed", "30004", "sms.message.undelivered", False),
    ],
)
def test_status_maps_to_event_type_and_failover(
    status: str, error: str | None, type_: str, eligible: bool | None
) -> None:
    """Each MessageStatus/ErrorCode gives the documented type and failover eligibility."""
    extra = {"ErrorCode": error} if error else {}
    [event] = SPEC.adapter.normalize(raw(fields(status, **extra)))
    assert event.type == type_
    assert event.subject == event.partitionkey == MID
    assert event.providereventid == f"SMabc:{status}"
    assert event.data.message_id == event.data.command_id == MID
    assert event.data.provider == "twilio" and event.data.to == "+14155550123"
    if eligible is not None:
        assert event.data.failover_eligible is eligible
        assert event.data.error_code == error


def test_same_callback_gives_the_same_event_id() -> None:
    """A redelivered callback maps to the same CloudEvent id (dedup)."""
    first = SPEC.adapter.normalize(raw(fields("delivered")))[0]
    again = SPEC.adapter.normalize(raw(fields("delivered")))[0]
    assert first.id == again.id


@pytest.mark.parametrize(
    "payload",
    [
        fields("delivered") | {"MessageSid": "", "SmsSid": ""},
        fields("") | {"SmsStatus": ""},
        fields("exploded"),
    ],
)
def test_unusable_callbacks_raise_normalization_error(payload: dict[str, str]) -> None:
    """A callback without sid, status, or with an unknown status cannot be normalized."""
    with pytest.raises(NormalizationError):
        SPEC.adapter.normalize(raw(payload))


def test_callback_without_ref_cannot_be_correlated() -> None:
    """Without the ref query parameter the message id is unknown: normalization fails."""
    with pytest.raises(NormalizationError, match="ref"):
        SPEC.adapter.normalize(raw(fields("delivered"), ref=None))


def test_registered_with_samples_that_normalize() -> None:
    """The registry knows twilio and each sample normalizes."""
    assert PROVIDERS["twilio"] is SPEC
    for sample in SPEC.samples():
        payload = parse_body(sample.body, sample.content_type)
        event = SPEC.adapter.normalize(
            RawWebhook(
                "sms-twilio",
                "twilio",
                sample.body,
                sample.content_type,
                Headers(),
                {},
                datetime.now(UTC),
                payload,
            )
        )[0]
        assert event.type.startswith("sms.message.")
