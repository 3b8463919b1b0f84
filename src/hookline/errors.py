"""hookline's error tree.

Every error hookline raises on purpose derives from :class:`HooklineError` and
knows whether trying again can help::

    HooklineError
    ├── ConfigError                 the configuration is wrong (never retryable)
    │   └── SecretError             a secret reference cannot be resolved
    ├── VerificationError           a webhook failed its signature check (reason code)
    ├── PublishError                Kafka did not acknowledge a write in time (retryable)
    ├── NormalizationError          a verified payload could not become an event
    ├── RetryableError              an effect failed but may succeed later
    │   ├── ProviderUnavailable     provider 5xx / 429 / timeout / connection error
    │   └── CircuitOpenError        the breaker for a provider is open
    └── PermanentError              an effect failed and will fail again
        └── ProviderRejected        provider 4xx business error (code kept)

Causes are chained (``raise … from exc``) so logs keep the original error.
"""

from __future__ import annotations

from typing import Any


class HooklineError(Exception):
    """Base of every error hookline raises deliberately."""

    retryable: bool = False


class ConfigError(HooklineError):
    """The configuration cannot be used; the message names the field."""


class SecretError(ConfigError):
    """A secret reference (``env:NAME`` / ``file:/path``) cannot be resolved."""


class VerificationError(HooklineError):
    """A webhook failed verification; ``reason`` is a short code for logs and metrics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class PublishError(HooklineError):
    """Kafka did not acknowledge a write within the publish timeout."""

    retryable = True


class NormalizationError(HooklineError):
    """A verified payload could not be turned into CloudEvents."""


class RetryableError(HooklineError):
    """An effect failed in a way that may succeed when tried again."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.code = code
        self.details = details


class ProviderUnavailable(RetryableError):
    """The provider answered 5xx/429/408, timed out, or could not be reached."""


class CircuitOpenError(RetryableError):
    """The provider's circuit breaker is open; the call was not attempted."""


class PermanentError(HooklineError):
    """An effect failed and will fail again with the same input."""

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


class ProviderRejected(PermanentError):
    """The provider rejected the request (4xx business error)."""


__all__ = [
    "CircuitOpenError",
    "ConfigError",
    "HooklineError",
    "NormalizationError",
    "PermanentError",
    "ProviderRejected",
    "ProviderUnavailable",
    "PublishError",
    "RetryableError",
    "SecretError",
    "VerificationError",
]
