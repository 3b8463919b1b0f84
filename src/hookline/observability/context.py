"""Per-request ids carried through contextvars, added to every log line by one processor."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

# One ContextVar set per request: much cheaper on the hot path than binding
# structlog's contextvars (a get/set/reset per key).
REQUEST_ID: ContextVar[str | None] = ContextVar("hookline_request_id", default=None)


def add_request_id(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict
