"""An error from a send attempt, in the words the failover rules use (docs/sms.md#failover-rules-in-plain-words)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from hookline.errors import CircuitOpenError, HooklineError, PermanentError, RetryableError
from hookline.messages.sms import ErrorClass

# Errors that say something about the message, not the provider: never fail over.
_MESSAGE_CLASSES = frozenset({"invalid_recipient", "opted_out", "content"})
_KNOWN = frozenset({*_MESSAGE_CLASSES, "provider", "transient", "unknown_outcome", "no_provider"})


@dataclass(frozen=True)
class Failure:
    error_class: ErrorClass
    error_code: str | None
    reason: str
    failover: bool
    # Whether the provider is to blame (its success rate drops).
    provider_fault: bool


def _provider_code(exc: HooklineError) -> str | None:
    details: Any = getattr(exc, "details", None)
    if isinstance(details, dict) and details.get("provider_code") is not None:
        return str(details["provider_code"])
    code = getattr(exc, "code", None)
    return str(code) if code is not None else None


def classify(exc: HooklineError) -> Failure:
    if isinstance(exc, CircuitOpenError):
        return Failure("transient", "circuit_open", str(exc), failover=True, provider_fault=False)
    if isinstance(exc, RetryableError):
        return Failure(
            "transient", _provider_code(exc), str(exc), failover=True, provider_fault=True
        )
    code = getattr(exc, "code", None)
    if isinstance(exc, PermanentError) and code == "unknown_outcome":
        return Failure("unknown_outcome", None, str(exc), failover=False, provider_fault=True)
    error_class = cast(ErrorClass, code) if code in _KNOWN else "content"
    if error_class in _MESSAGE_CLASSES:
        return Failure(
            error_class, _provider_code(exc), str(exc), failover=False, provider_fault=False
        )
    return Failure(error_class, _provider_code(exc), str(exc), failover=True, provider_fault=True)


def from_report(error_class: ErrorClass, error_code: str | None, failover: bool) -> Failure:
    return Failure(
        error_class,
        error_code,
        f"delivery report: {error_class}",
        failover=failover,
        provider_fault=failover,
    )
