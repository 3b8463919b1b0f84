"""Delivery reports → ``sms.message.*`` CloudEvents, shared by the three provider adapters.

Pure: each adapter parses its provider's fields and says what the report
means; this module builds the normalized event the same way for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from hookline.envelope import CloudEvent, make_event, source_uri
from hookline.errors import NormalizationError
from hookline.messages.sms import (
    ErrorClass,
    ProviderName,
    SmsDelivered,
    SmsStatus,
    SmsUndelivered,
)
from hookline.providers.base import RawWebhook

Outcome = Literal["queued", "sent", "delivered", "undelivered"]
# Taiwan has kept UTC+8 without daylight saving since 1979; no tz database needed.
TAIPEI = timezone(timedelta(hours=8), "Asia/Taipei")


@dataclass(frozen=True)
class Meaning:
    """What one provider status means in hookline's words."""

    outcome: Outcome
    error_class: ErrorClass | None = None
    failover: bool = False


@dataclass(frozen=True)
class Report:
    """One parsed delivery report."""

    provider: ProviderName
    message_id: str
    provider_message_id: str
    to: str
    provider_status: str
    meaning: Meaning
    provider_event_id: str
    time: datetime
    error_code: str | None = None


def taipei_time(raw: str | None, fallback: datetime) -> datetime:
    """``yyyyMMddHHmmss`` in Asia/Taipei → an aware datetime (the fallback when absent or bad)."""
    if not raw:
        return fallback
    try:
        return datetime.strptime(raw.strip(), "%Y%m%d%H%M%S").replace(tzinfo=TAIPEI)
    except ValueError:
        return fallback


def required(fields: dict[str, str], name: str, provider: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise NormalizationError(f"{provider} delivery report has no {name}")
    return value


def to_event(raw: RawWebhook, report: Report) -> CloudEvent:
    common = {
        "message_id": report.message_id,
        "command_id": report.message_id,
        "provider": report.provider,
        "provider_message_id": report.provider_message_id,
        "to": report.to,
        "provider_status": report.provider_status,
    }
    outcome = report.meaning.outcome
    data: SmsStatus | SmsDelivered | SmsUndelivered
    if outcome == "delivered":
        data = SmsDelivered(**common, delivered_at=report.time)
    elif outcome == "undelivered":
        data = SmsUndelivered(
            **common,
            error_code=report.error_code,
            error_class=report.meaning.error_class or "transient",
            failover_eligible=report.meaning.failover,
        )
    else:
        data = SmsStatus(**common)
    return make_event(
        source=source_uri(raw.source),
        type=f"sms.message.{outcome}",
        subject=report.message_id,
        data=data,
        provider=report.provider,
        provider_event_id=report.provider_event_id,
        time=report.time,
        traceparent=raw.traceparent,
    )


def form_fields(raw: RawWebhook) -> dict[str, str]:
    """Form body fields and query parameters together (Mitake reports travel in the query)."""
    fields = dict(raw.query)
    if isinstance(raw.payload, dict):
        fields.update({str(k): str(v) for k, v in raw.payload.items()})
    return fields
