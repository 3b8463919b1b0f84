"""What the SMS service asks of a provider client (each provider folder implements it).

Clients raise hookline's errors: :class:`~hookline.errors.ProviderRejected` with
``code`` = the error class (``invalid_recipient``, ``opted_out``, ``content``,
``provider``) and ``details["provider_code"]``; :class:`~hookline.errors.RetryableError`
for 5xx, 429 and network errors after the client's own retries; and
:class:`AmbiguousOutcome` when a send may or may not have gone out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hookline.errors import PermanentError, ProviderRejected


@dataclass(frozen=True)
class OutboundSms:
    """One attempt: the message through one provider, under one attempt key."""

    message_id: str
    attempt_key: str
    to: str  # E.164, validated
    body: str
    sender: str | None = None


@dataclass(frozen=True)
class SendReceipt:
    provider_message_id: str
    provider_status: str
    segments: int | None = None  # as the provider counted them, when it says
    duplicate: bool = False  # the provider recognised a resend of this attempt


class AmbiguousOutcome(PermanentError):
    """The request was written but no answer came: it may have been sent (docs/sms.md#failover-rules-in-plain-words)."""

    def __init__(self, provider: str) -> None:
        super().__init__(
            f"{provider} did not answer a send in time; it may have been sent",
            code="unknown_outcome",
        )


class SmsProvider(Protocol):
    name: str

    async def send(self, sms: OutboundSms) -> SendReceipt: ...

    def breaker_open(self) -> bool: ...

    async def admits(self, within: float) -> bool:
        """Whether the client-side rate limit lets a call start within ``within`` seconds."""

    async def health(self) -> bool:
        """The provider's own health check (account, credit or query endpoint) passed."""

    async def aclose(self) -> None: ...


def rejected(provider: str, error_class: str, provider_code: str, message: str) -> ProviderRejected:
    """A provider's business refusal, classified for failover."""
    return ProviderRejected(
        f"{provider} rejected the message: {message}",
        code=error_class,
        details={"provider": provider, "provider_code": provider_code},
    )
