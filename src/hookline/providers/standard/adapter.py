"""Normalize any JSON webhook.

A Standard Webhooks payload (``{"type", "timestamp", "data"}``) keeps its
type, prefixed with the source name (``billing.invoice.paid``); other JSON
bodies become ``<source>.received``. The provider event id is the
``webhook-id`` header, else a top-level ``id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hookline.envelope import CloudEvent, make_event, source_uri
from hookline.errors import NormalizationError
from hookline.providers.base import Acknowledgement, RawWebhook, Sample
from hookline.providers.samples import load_samples


def _event_time(payload: dict[str, Any], fallback: datetime) -> datetime:
    raw = payload.get("timestamp") or payload.get("time")
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return fallback
    return fallback


def _subject(payload: dict[str, Any]) -> str | None:
    for key in ("subject",):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    data = payload.get("data")
    if isinstance(data, dict):
        for key in ("id", "object_id"):
            if isinstance(data.get(key), (str, int)):
                return str(data[key])
    return None


class StandardAdapter:
    provider = "standard"
    domain: str | None = None
    content_types: tuple[str, ...] = ("application/json",)

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        payload = raw.payload
        if not isinstance(payload, dict):
            raise NormalizationError("a standard webhook body must be a JSON object")
        headers = raw.headers
        provider_id = headers.get("webhook-id") or headers.get("svix-id")
        if provider_id is None and isinstance(payload.get("id"), (str, int)):
            provider_id = str(payload["id"])
        kind = payload.get("type")
        if kind is not None and (not isinstance(kind, str) or not kind.strip()):
            raise NormalizationError("type must be a non-empty string")
        event_type = f"{raw.source}.{kind}" if kind else f"{raw.source}.received"
        data = payload.get("data", payload) if kind else payload
        return [
            make_event(
                source=source_uri(raw.source),
                type=event_type,
                subject=_subject(payload),
                data=data,
                provider=raw.provider,
                provider_event_id=provider_id,
                time=_event_time(payload, raw.received_at),
                traceparent=raw.traceparent,
            )
        ]

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None:
        return None


def samples() -> tuple[Sample, ...]:
    return load_samples("hookline.providers.standard")
