"""What the workers write about their own work: one record per outbound provider call."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hookline.messages.base import MessageType

__all__ = ["MESSAGE_TYPES", "HttpCall"]


class HttpCall(BaseModel):
    """One provider API call a worker made for a command, after its retries (no body, no header)."""

    service: str = Field(description="The worker that made the call.")
    provider: str
    endpoint: str = Field(
        description="The client's name for the call, e.g. orders.submit; oauth.token for an "
        "access-token fetch (under the command whose call needed the token)."
    )
    method: str
    path: str
    status: int | None = Field(
        description="The provider's last HTTP status; null without an answer."
    )
    attempts: int = Field(description="Attempts within this call (the client's own retries).")
    latency_ms: float
    outcome: str = Field(description="ok, cached, or the failure class (4xx, 5xx, timeout, …).")
    error: str | None = None
    code: str | None = Field(default=None, description="The provider's or hookline's error code.")
    at: str = Field(description="When the call finished (RFC 3339).")
    command_id: str
    command_type: str
    attempt: int = Field(description="The handler attempt (1-based) the call belongs to.")


MESSAGE_TYPES: tuple[MessageType, ...] = (
    MessageType(
        "hookline.http.call",
        HttpCall,
        "event",
        "audit.http",
        "command id",
        "An outbound provider call a worker made for a command (the audit trail).",
    ),
)
