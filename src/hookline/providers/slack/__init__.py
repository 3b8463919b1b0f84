"""Slack (generic provider): Events API adapter and sample requests."""

from __future__ import annotations

import json
from importlib import resources

from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.slack.adapter import SlackAdapter


def samples() -> tuple[Sample, ...]:
    folder = resources.files("hookline.providers.slack") / "samples"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            body = entry.read_bytes()
            json.loads(body)  # a broken sample is a packaging bug; fail loudly
            out.append(Sample(entry.name.removesuffix(".json"), body, "application/json"))
    return tuple(out)


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
