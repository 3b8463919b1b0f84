"""Request and command ids carried through contextvars, added to every log line by one processor."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

# One ContextVar set per request: much cheaper on the hot path than binding
# structlog's contextvars (a get/set/reset per key).
REQUEST_ID: ContextVar[str | None] = ContextVar("hookline_request_id", default=None)
# The record a worker is handling: (CloudEvent id, type, request id of the webhook
# delivery behind it or None). Its handler's log lines, outbound ``http.call`` lines
# included, name the command they serve and the request that carried it.
HANDLING: ContextVar[tuple[str, str, str | None] | None] = ContextVar(
    "hookline_handling", default=None
)

__all__ = ["HANDLING", "REQUEST_ID", "add_request_id"]


def add_request_id(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    handling = HANDLING.get()
    if handling is not None:
        event_dict.setdefault("command_id", handling[0])
        event_dict.setdefault("event_type", handling[1])
        if handling[2] is not None:
            event_dict.setdefault("request_id", handling[2])
    return event_dict
