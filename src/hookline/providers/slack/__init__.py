"""Slack (generic provider): Events API adapter and sample requests."""

from __future__ import annotations

import json

from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.samples import load_samples
from hookline.providers.slack.adapter import SlackAdapter


def samples() -> tuple[Sample, ...]:
    return load_samples("hookline.providers.slack")


def delivery(sample: Sample, delivery_id: str | None) -> tuple[bytes, dict[str, str]]:
    """Slack's delivery id is ``event_id`` in the body; a fresh one means a new event."""
    headers = {"User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
    payload = json.loads(sample.body)
    if delivery_id is None or "event_id" not in payload:
        return sample.body, headers
    payload["event_id"] = "Ev" + delivery_id.removeprefix("msg_")[:16].upper()
    return json.dumps(payload).encode(), headers


SPEC = ProviderSpec("slack", SlackAdapter(), samples, {"delivery": delivery})

__all__ = ["SPEC", "SlackAdapter", "delivery", "samples"]
