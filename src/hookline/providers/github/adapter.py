"""GitHub webhooks → ``github.<X-GitHub-Event>`` CloudEvents.

The provider event id is ``X-GitHub-Delivery`` (GitHub keeps it on
redeliveries). ``application/x-www-form-urlencoded`` deliveries carry the
JSON in a ``payload`` field and are unwrapped. The subject is the issue or
pull request (``owner/repo#12``) when there is one, else the repository.
"""

from __future__ import annotations

import json
from typing import Any

from hookline.envelope import CloudEvent, make_event, source_uri
from hookline.errors import NormalizationError
from hookline.providers.base import Acknowledgement, RawWebhook, require_mapping

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"


def _unwrap(payload: Any) -> dict[str, Any]:
    if (
        isinstance(payload, dict)
        and set(payload) == {"payload"}
        and isinstance(payload["payload"], str)
    ):
        try:
            payload = json.loads(payload["payload"])
        except json.JSONDecodeError as exc:
            raise NormalizationError("form field payload is not JSON") from exc
    return require_mapping(payload)


def _subject(payload: dict[str, Any]) -> str | None:
    repo = payload.get("repository")
    name = repo.get("full_name") if isinstance(repo, dict) else None
    for key in ("pull_request", "issue", "discussion"):
        item = payload.get(key)
        if isinstance(item, dict) and isinstance(item.get("number"), int) and name:
            return f"{name}#{item['number']}"
    if isinstance(name, str):
        return name
    org = payload.get("organization")
    if isinstance(org, dict) and isinstance(org.get("login"), str):
        return str(org["login"])
    return None


class GithubAdapter:
    provider = "github"
    domain: str | None = None
    content_types: tuple[str, ...] = ("application/json", "application/x-www-form-urlencoded")

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        event = raw.headers.get(EVENT_HEADER, "").strip()
        if not event:
            raise NormalizationError(f"{EVENT_HEADER} header is missing")
        payload = _unwrap(raw.payload)
        return [
            make_event(
                source=source_uri(raw.source),
                type=f"github.{event}",
                subject=_subject(payload),
                data=payload,
                provider=raw.provider,
                provider_event_id=raw.headers.get(DELIVERY_HEADER) or None,
                time=raw.received_at,
                traceparent=raw.traceparent,
            )
        ]

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None:
        return None
