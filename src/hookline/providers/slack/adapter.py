"""Slack Events API → ``slack.<event type>`` CloudEvents (e.g. ``slack.app_mention``).

* ``event_callback``: the type is the inner ``event.type``; the provider
  event id is ``event_id`` (Slack keeps it on retries, ``X-Slack-Retry-Num``
  counts them); the time is ``event_time``; the subject is the channel.
* ``url_verification``: published as ``slack.url_verification`` and answered
  with the ``challenge`` in plain text, as Slack requires.
* interactivity (form field ``payload``) → ``slack.interaction.<type>``;
  slash commands (form with ``command``) → ``slack.command``.

The legacy verification ``token`` field is dropped: it is a credential.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hookline.envelope import CloudEvent, make_event, source_uri
from hookline.errors import NormalizationError
from hookline.providers.base import Acknowledgement, RawWebhook, require_mapping

URL_VERIFICATION = "slack.url_verification"


def _without_token(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != "token"}


def _time(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return fallback
    return fallback


def _classify(payload: dict[str, Any]) -> tuple[str, str | None, str | None, Any]:
    """(type, provider event id, subject, time value) of one Slack request."""
    if isinstance(payload.get("payload"), str):  # interactivity arrives as a form field
        try:
            inner = require_mapping(json.loads(payload["payload"]))
        except json.JSONDecodeError as exc:
            raise NormalizationError("form field payload is not JSON") from exc
        kind = inner.get("type") or "unknown"
        channel = inner.get("channel")
        subject = channel.get("id") if isinstance(channel, dict) else None
        return f"slack.interaction.{kind}", None, subject, None
    if "command" in payload:
        return "slack.command", None, payload.get("channel_id"), None
    kind = payload.get("type")
    if kind == "url_verification":
        return URL_VERIFICATION, None, None, None
    if kind == "event_callback":
        event = payload.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise NormalizationError("event_callback without event.type")
        event_id = payload.get("event_id")
        channel = event.get("channel") if isinstance(event.get("channel"), str) else None
        subject = channel or payload.get("team_id")
        return (
            f"slack.{event['type']}",
            event_id if isinstance(event_id, str) else None,
            subject if isinstance(subject, str) else None,
            payload.get("event_time"),
        )
    if isinstance(kind, str) and kind:
        return f"slack.{kind}", None, payload.get("team_id"), None
    raise NormalizationError("not a Slack Events API, interactivity or command request")


class SlackAdapter:
    provider = "slack"
    domain: str | None = None
    content_types: tuple[str, ...] = ("application/json", "application/x-www-form-urlencoded")

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        payload = require_mapping(raw.payload)
        kind, event_id, subject, when = _classify(payload)
        return [
            make_event(
                source=source_uri(raw.source),
                type=kind,
                subject=subject if isinstance(subject, str) else None,
                data=_without_token(payload),
                provider=raw.provider,
                provider_event_id=event_id,
                time=_time(when, raw.received_at),
                traceparent=raw.traceparent,
            )
        ]

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None:
        first = events[0]
        if first.type == URL_VERIFICATION and isinstance(first.data, dict):
            challenge = first.data.get("challenge")
            if isinstance(challenge, str):
                return Acknowledgement(challenge.encode(), "text/plain", 200)
        return None
