"""Every event and command type hookline writes, with its data model and topic.

This is what ``hookline schemas export`` documents for downstream teams. Each
provider or service keeps its models in its own ``models.py`` and exposes a
``MESSAGE_TYPES`` tuple; this module lists those tuples, one line each.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel


@dataclass(frozen=True)
class MessageType:
    """One CloudEvent ``type``: its ``data`` model, topic (without prefix) and key."""

    type: str
    model: builtins.type[BaseModel]
    kind: Literal["event", "command"]
    topic: str  # e.g. "events.sms", "commands.colt"
    key: str  # what the partition key / subject is, in words: "order id"
    description: str = ""


class IngressFailure(BaseModel):
    """A verified webhook that could not be normalized, kept whole in ``dlq.ingress``."""

    source: str
    provider: str
    error: dict[str, Any]
    content_type: str
    headers: dict[str, str]
    query: dict[str, str]
    received_at: str
    body_base64: str


CORE_TYPES: tuple[MessageType, ...] = (
    MessageType(
        "hookline.ingress.normalization_failed",
        IngressFailure,
        "event",
        "dlq.ingress",
        "source name",
        "A verified delivery whose payload could not be normalized; the raw request is kept.",
    ),
)


def all_types() -> dict[str, MessageType]:
    """Every registered type by name (imports are here so importing this module stays cheap)."""
    groups: list[tuple[MessageType, ...]] = [CORE_TYPES]
    # One line per provider/service module that defines message types:
    groups.append(__import__("hookline.services.sms.models", fromlist=["_"]).MESSAGE_TYPES)
    groups.append(__import__("hookline.providers.colt.models", fromlist=["_"]).MESSAGE_TYPES)
    groups.append(__import__("hookline.services.reservation.models", fromlist=["_"]).MESSAGE_TYPES)
    return {t.type: t for group in groups for t in group}
