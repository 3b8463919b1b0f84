"""Result events of Colt commands: deterministic ids, ``data.command_id``, keyed by entity.

A redelivered command yields the same result id
(``event_id(source, "{command_id}:{result}")``), so consumers can drop repeats.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from hookline.envelope import CloudEvent, event_id, make_event

SERVICE = "colt"
SOURCE = f"/hookline/workers/{SERVICE}"


def result_event(
    command: CloudEvent,
    type_: str,
    data: BaseModel,
    subject: str,
    *,
    anchor: str | None = None,
    suffix: str | None = None,
) -> CloudEvent:
    """The event ``type_`` answering ``command``.

    ``anchor`` is the command id the id derives from (a watch's checks answer
    the original watch command); ``suffix`` distinguishes several per command.
    """
    name = f"{anchor or command.id}:{type_}" + (f":{suffix}" if suffix else "")
    return make_event(
        id=event_id(SOURCE, name),
        source=SOURCE,
        type=type_,
        subject=subject,
        data=data.model_dump(mode="json"),
        provider="colt",
        traceparent=command.traceparent,
    )


def internal_command(
    command: CloudEvent, type_: str, data: BaseModel, subject: str, name: str
) -> CloudEvent:
    """A command the worker writes to itself (a watch's next check), id derived from ``name``."""
    return make_event(
        id=event_id(SOURCE, name),
        source=SOURCE,
        type=type_,
        subject=subject,
        data=data.model_dump(mode="json"),
        traceparent=command.traceparent,
    )


# What a person should do about a failure: the guide's status table
# (docs/providers/colt.md#errors-and-retries), then hookline's and Colt's own codes.
STATUS_ADVICE: dict[int, str] = {
    400: "Bad request - check the request parameters",
    401: "Authentication failed - the token may be expired or the client id/secret refused",
    403: "Forbidden - the credentials lack the permission (scope ebonding.read / ebonding.write)",
    404: "Not found - check the id",
    409: "Conflict - a duplicate request or a resource conflict",
    429: "Rate limit exceeded - too many requests; wait for x-ratelimit-reset",
    500: "Colt internal error - contact Colt support",
    502: "Bad gateway - a temporary network issue; try again later",
    503: "Colt service unavailable - try again later",
    504: "Gateway timeout - the request took too long; try again later",
}
CODE_ADVICE: dict[str, str] = {
    "QUOTE_EXPIRED": "The quote has expired - create a new quote (colt.quote.create) and order from it",
    "QUOTE_ALREADY_ORDERED": "The quote is already ordered - read it (colt.quote.get) to find "
    "its order instead of ordering again",
    "ORDER_NOT_MODIFIABLE": "The order is completed, rejected or cancelled and can no longer be changed",
    "ORDER_NOT_CANCELLABLE": "The order is completed or rejected and can no longer be cancelled",
    "INVALID_COMMAND": "The command does not match its schema - fix the fields listed",
    "COMMAND_ID_MISMATCH": "data.command_id must equal the CloudEvent id - drop it or make them equal",
    "TIMEOUT": "Colt did not answer in time - check Colt's status, or raise timeout_seconds",
    "NETWORK": "Colt could not be reached - check the network path, firewall rules and DNS",
    "CircuitOpenError": "Colt failed repeatedly and calls are paused (breaker open) - check Colt's status",
    "MALFORMED_RESPONSE": "Colt answered something that is not its JSON - check base_url",
}
_PREFIX = re.compile(r"^HTTP \d{3}(?: [A-Z0-9_]+)?: ")


def readable(code: str | None, http_status: int | None, raw: str) -> str:
    """``advice - Colt's message (field: issue, …)``, as the guide's ``getErrorDetails`` builds it."""
    advice = CODE_ADVICE.get(code or "") or STATUS_ADVICE.get(http_status or 0)
    detail = _PREFIX.sub("", raw).strip()
    if advice is None:
        return detail or f"HTTP {http_status} error"
    return f"{advice} - {detail}" if detail and detail != advice else advice
