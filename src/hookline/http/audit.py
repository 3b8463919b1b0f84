"""Every outbound provider call, told to whoever is listening (the audit trail).

The HTTP layer knows no Kafka: :class:`~hookline.http.client.ApiClient` only
appends a :class:`Call` per finished call (after its retries) to the list in
:data:`CALLS`, when one is set. The worker runtime sets a fresh list around
each handler attempt and publishes what it collected as ``hookline.http.call``
records on ``<prefix>.audit.http`` (who: service, provider, command; what:
method, path, status, outcome), which ``hookline trace`` shows as the HTTP hops
of a command. No body and no header is kept.

:func:`finished` is the one way a call is told: the audit record and the
``http.call`` (or ``http.call_failed``) log line together. API calls and
access-token fetches (endpoint ``oauth.token``, path without its query) both
go through it, so a token fetch is audited under the command whose call
needed the token.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

__all__ = ["CALLS", "Call", "finished"]

log = structlog.get_logger("hookline.http")


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


def finished(call: Call, *, reason: str | None = None, retry_after: float | None = None) -> None:
    """Audit ``call`` (when someone listens) and log it: ``http.call``, or ``http.call_failed``
    with the error, the retry policy's ``reason`` and ``retry_after`` (seconds)."""
    calls = CALLS.get()
    if calls is not None:  # someone audits this call (the worker running a handler)
        calls.append(call)
    fields: dict[str, Any] = {
        "provider": call.provider,
        "endpoint": call.endpoint,
        "method": call.method,
        "path": call.path,
        "status": call.status,
        "attempt": call.attempts,
        "latency_ms": call.latency_ms,
        "outcome": call.outcome,
    }
    if call.error is None:
        log.info("http.call", **fields)
        return
    fields["error"] = call.error
    fields["code"] = call.code
    fields["reason"] = reason
    if retry_after is not None:
        fields["retry_after_ms"] = round(retry_after * 1000)
    log.warning("http.call_failed", **fields)
