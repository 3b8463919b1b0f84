"""What the ingress itself writes: a verified delivery it could not normalize."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hookline.messages.base import MessageType

__all__ = ["MESSAGE_TYPES", "IngressFailure"]


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


MESSAGE_TYPES: tuple[MessageType, ...] = (
    MessageType(
        "hookline.ingress.normalization_failed",
        IngressFailure,
        "event",
        "dlq.ingress",
        "source name",
        "A verified delivery whose payload could not be normalized; the raw request is kept.",
    ),
)
