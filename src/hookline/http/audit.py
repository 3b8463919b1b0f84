"""Every outbound provider call, told to whoever is listening (the audit trail).

The HTTP layer knows no Kafka: :class:`~hookline.http.client.ApiClient` only
appends a :class:`Call` per finished call (after its retries) to the list in
:data:`CALLS`, when one is set. The worker runtime sets a fresh list around
each handler attempt and publishes what it collected as ``hookline.http.call``
records on ``<prefix>.audit.http`` (who: service, provider, command; what:
method, path, status, outcome), which ``hookline trace`` shows as the HTTP hops
of a command. No body and no header is kept.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["CALLS", "Call"]


@dataclass(frozen=True, slots=True)
class Call:
    """One provider call as the client finished it (``attempts`` counts its retries)."""

    provider: str
    endpoint: str
    method: str
    path: str
    status: int | None
    attempts: int
    latency_ms: float
    outcome: str
    error: str | None = None
    code: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["at"] = self.at.isoformat().replace("+00:00", "Z")
        return values


# Set by whoever wants to hear of calls (the worker, per handler attempt); None: nobody.
CALLS: ContextVar[list[Call] | None] = ContextVar("hookline_http_calls", default=None)
