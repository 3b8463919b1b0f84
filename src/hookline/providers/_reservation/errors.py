"""The error body and code table shape shared by OpenTable, Recreation.gov and Shell Recharge.

docs/providers/reservations.md#error-body-and-shared-codes: every error answer is
``{"error": {"code", "message", "retryable", "details"}}``. Each provider's
client holds its own table of :class:`CodeSpec` (status and class); the same
table builds the client's :class:`~hookline.http.errors.CodeMap` and tells the
simulator which status to answer with, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hookline.http.errors import AUTH, PERMANENT, RETRYABLE, CodeMap, Fate

ErrorClass = Literal["P", "R", "A"]
_FATES: dict[str, Fate] = {"P": PERMANENT, "R": RETRYABLE, "A": AUTH}


@dataclass(frozen=True)
class CodeSpec:
    """One provider error code: its HTTP status and its class (P, R or A).

    ``later`` marks an R code that says nothing about the provider's health (a busy
    connector): the HTTP stack treats it as a refusal — no inline retry, no breaker
    failure — and the service turns it into a worker retry after the code's delay.
    """

    status: int
    kind: ErrorClass
    later: bool = False


# Codes every reservation platform shares (docs/providers/reservations.md#error-body-and-shared-codes). UNAUTHORIZED is left to
# the HTTP stack's re-authentication (class A: new token, one retry).
COMMON: dict[str, CodeSpec] = {
    "UNAUTHORIZED": CodeSpec(401, "A"),
    "SIGNATURE_INVALID": CodeSpec(401, "P"),
    "RATE_LIMITED": CodeSpec(429, "R"),
    "INTERNAL_ERROR": CodeSpec(500, "R"),
    "BAD_GATEWAY": CodeSpec(502, "R"),
    "SERVICE_UNAVAILABLE": CodeSpec(503, "R"),
    "GATEWAY_TIMEOUT": CodeSpec(504, "R"),
}


def error_body(
    code: str, message: str, *, retryable: bool, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "retryable": retryable,
            "details": dict(details or {}),
        }
    }


def error_map(codes: Mapping[str, CodeSpec]) -> CodeMap:
    """The client's :class:`CodeMap`: P codes never retried, R codes retried; others by status.

    A codes (``UNAUTHORIZED``) are left to the status fallback, where a 401 is the HTTP
    stack's re-authentication case. How long an R code waits is the retry policy's
    (``retry.status_delays_ms``, ``Retry-After``), not the table's.
    """
    table = {**COMMON, **codes}
    return CodeMap(
        {
            code: PERMANENT if spec.later else _FATES[spec.kind]
            for code, spec in table.items()
            if spec.kind != "A"
        }
    )
