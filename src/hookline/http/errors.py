"""How a provider's answer becomes one of hookline's errors.

A provider declares an :class:`ErrorMap`; the client asks it about every
response and raises what it returns. The errors raised here are subclasses of
the ones in :mod:`hookline.errors`, so callers only need that tree::

    ProviderUnavailable
    └── Unavailable          5xx / 429 / 408 / timeout / connection error (keeps status)
        └── TokenUnavailable the token endpoint could not be reached or kept failing
    ProviderRejected
    └── Rejected             other 4xx, or a business error code (keeps status)
        └── AuthFailed       credentials refused (401, invalid_client); counts for the breaker

Most providers need only a :class:`CodeMap`: a table from the provider's error
code to a :class:`Fate`, with the status-based :class:`StatusErrorMap` as fallback.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from hookline.errors import HooklineError, ProviderRejected, ProviderUnavailable


class Unavailable(ProviderUnavailable):
    """The provider could not serve the request now; ``status`` is None for network errors."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        code: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, code=code, details=details)
        self.status = status


class TokenUnavailable(Unavailable):
    """The token endpoint kept failing; already retried, so not retried again by the call."""


class Rejected(ProviderRejected):
    """The provider refused the request; trying again with the same input fails again."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.status = status


class AuthFailed(Rejected):
    """The provider refused our credentials (after one refresh where a refresh is possible)."""


class Fate(enum.Enum):
    """What an error answer means for the command that caused it."""

    PERMANENT = "permanent"  # never retried; the command fails
    RETRYABLE = "retryable"  # retried inline, then on a retry tier
    AUTH = "auth"  # credentials refused: permanent, and a breaker failure


PERMANENT = Fate.PERMANENT
RETRYABLE = Fate.RETRYABLE
AUTH = Fate.AUTH


class ErrorMap(Protocol):
    """Decides whether a response is an error, and which."""

    def classify(self, response: httpx.Response) -> HooklineError | None:
        """``None`` when the response is not an error; otherwise the error to raise."""


def fate_for_status(status: int) -> Fate | None:
    """The default meaning of a status code: retry 408, 429 and 5xx, refuse other 4xx."""
    if status < 300:
        return None
    if status in (401, 407):
        return Fate.AUTH
    if status in (408, 429) or status >= 500:
        return Fate.RETRYABLE
    return Fate.PERMANENT


def make_error(
    fate: Fate, status: int | None, code: str | None, message: str | None, details: Any = None
) -> HooklineError:
    """Build the error for a fate; the message keeps the provider's code and text."""
    label = f"HTTP {status}" if status is not None else "request failed"
    text = f"{label} {code}" if code else label
    if message:
        text = f"{text}: {message}"
    pairs = _field_issues(details)
    if pairs:
        text = f"{text} ({pairs})"
    if fate is Fate.RETRYABLE:
        return Unavailable(text, status=status, code=code, details=details)
    if fate is Fate.AUTH:
        return AuthFailed(text, status=status, code=code, details=details)
    return Rejected(text, status=status, code=code, details=details)


def _field_issues(details: Any) -> str:
    # Colt's validation details: [{"field": …, "issue": …}] → "field: issue, …"
    if not isinstance(details, list):
        return ""
    pairs = [
        f"{item['field']}: {item['issue']}"
        for item in details
        if isinstance(item, dict) and "field" in item and "issue" in item
    ]
    return ", ".join(pairs)


def json_body(response: httpx.Response) -> Any:
    """The JSON body, or None when the body is not JSON."""
    try:
        return json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        return None


def lookup(body: Any, dotted: str) -> Any:
    """``lookup({"error": {"code": "X"}}, "error.code") == "X"``; None when absent."""
    node = body
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def common_error_fields(body: Any) -> tuple[str | None, str | None, Any]:
    """Code, message and details from the usual error shapes.

    ``{"error": {"code", "message", "details"}}`` (Colt, OpenTable …),
    ``{"code", "message"}`` (Twilio) and ``{"error": "…", "error_description"}`` (OAuth2).
    """
    if not isinstance(body, dict):
        return None, None, None
    error = body.get("error")
    if isinstance(error, dict):
        return _text(error.get("code")), _text(error.get("message")), error.get("details")
    if isinstance(error, str):
        return error, _text(body.get("error_description")), None
    return _text(body.get("code")), _text(body.get("message")), body.get("details")


class StatusErrorMap:
    """The default map: by status code (see :func:`fate_for_status`), keeping any code in the body.

    ``overrides`` changes the fate of single statuses, e.g. Colt's ``{500: PERMANENT}``.
    """

    def __init__(self, overrides: Mapping[int, Fate] | None = None) -> None:
        self.overrides = dict(overrides or {})

    def fate(self, status: int) -> Fate | None:
        return self.overrides.get(status, fate_for_status(status))

    def classify(self, response: httpx.Response) -> HooklineError | None:
        fate = self.fate(response.status_code)
        if fate is None:
            return None
        code, message, details = common_error_fields(json_body(response))
        return make_error(fate, response.status_code, code, message, details)


class CodeMap:
    """A provider's error-code table; codes not in it fall back to the status map.

    ``CodeMap({"NO_AVAILABILITY": PERMANENT, "CONNECTOR_UNAVAILABLE": RETRYABLE})``
    reads ``error.code`` / ``error.message`` / ``error.details`` from JSON bodies;
    the field paths are dotted and configurable. ``check_success=True`` also
    inspects 2xx bodies, for APIs that report errors with a 200.
    """

    def __init__(
        self,
        table: Mapping[str, Fate],
        *,
        code_field: str = "error.code",
        message_field: str = "error.message",
        details_field: str = "error.details",
        fallback: StatusErrorMap | None = None,
        check_success: bool = False,
    ) -> None:
        self.table = dict(table)
        self.code_field = code_field
        self.message_field = message_field
        self.details_field = details_field
        self.fallback = fallback or StatusErrorMap()
        self.check_success = check_success

    def classify(self, response: httpx.Response) -> HooklineError | None:
        status = response.status_code
        if status < 300 and not self.check_success:
            return None
        body = json_body(response)
        code = _text(lookup(body, self.code_field))
        message = _text(lookup(body, self.message_field))
        details = lookup(body, self.details_field)
        if code is not None and code in self.table:
            return make_error(self.table[code], status, code, message, details)
        fate = self.fallback.fate(status)
        if fate is None:
            return None
        if code is None:
            code, message, details = common_error_fields(body)
        return make_error(fate, status, code, message, details)


DEFAULT_ERROR_MAP = StatusErrorMap()

__all__ = [
    "AUTH",
    "DEFAULT_ERROR_MAP",
    "PERMANENT",
    "RETRYABLE",
    "AuthFailed",
    "CodeMap",
    "ErrorMap",
    "Fate",
    "Rejected",
    "StatusErrorMap",
    "TokenUnavailable",
    "Unavailable",
    "common_error_fields",
    "fate_for_status",
    "json_body",
    "lookup",
    "make_error",
]
