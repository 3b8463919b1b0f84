"""The part of a provider client that is the same for all three SMS providers: docs/sms.md#failover-rules-in-plain-words.

Every send carries the attempt key as ``Idempotency-Key``. How an unanswered
send (a read timeout or a dropped connection after the request was written) is
handled depends on whether the provider really de-duplicates:

- **Mitake** (``clientid``): the key is given to the ApiClient as the call's
  idempotency key, so the ApiClient repeats the request on timeouts too; if no
  answer ever comes the message waits on a retry tier and is sent once more
  under the same ``clientid`` (:class:`ResendLater`).
- **Twilio, Every8d** (no real de-duplication): the header is sent, but the call
  is not marked repeatable; an unanswered send raises :class:`AmbiguousOutcome`
  and is never repeated anywhere. Answers that prove nothing was done (5xx,
  429) are retried here by the provider's own retry policy.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from hookline.errors import CircuitOpenError, RetryableError
from hookline.http.client import ApiClient
from hookline.providers._sms.contract import AmbiguousOutcome, OutboundSms, SendReceipt

_AMBIGUOUS = (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError)


class ResendLater(RetryableError):
    """No answer from a de-duplicating provider: park, then resend the same attempt."""


def is_ambiguous(exc: BaseException) -> bool:
    """Whether the request went out and no answer came (the cause chain holds a read failure)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, _AMBIGUOUS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class SmsClientBase:
    name: str
    # Whether the provider de-duplicates a resent attempt (Mitake's clientid).
    deduplicates: bool = False

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    async def _send(self, sms: OutboundSms) -> SendReceipt:
        raise NotImplementedError

    def send_options(self, sms: OutboundSms) -> dict[str, Any]:
        """How the attempt key travels with the send call (see the module docstring)."""
        if self.deduplicates:
            return {"idempotency_key": sms.attempt_key}
        return {"headers": {"Idempotency-Key": sms.attempt_key}}

    async def send(self, sms: OutboundSms) -> SendReceipt:
        policy = self.api.policy
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send(sms)
            except RetryableError as exc:
                if is_ambiguous(exc):
                    if self.deduplicates:
                        raise ResendLater(
                            f"{self.name} did not answer; the attempt is resent later",
                            retry_after=exc.retry_after or 10.0,
                            code="no_answer",
                        ) from exc
                    raise AmbiguousOutcome(self.name) from exc
                if self.deduplicates or isinstance(exc, CircuitOpenError):
                    raise  # the ApiClient already retried a repeatable call
                delay = (
                    exc.retry_after
                    if exc.retry_after is not None
                    else policy.backoff(attempt, None)
                )
                if attempt >= policy.max_attempts or delay > policy.inline_max_delay:
                    raise
                await asyncio.sleep(delay)

    def breaker_open(self) -> bool:
        return str(self.api.breaker.state) == "open"

    async def admits(self, within: float) -> bool:
        # The limiter has no side-effect-free probe; a wait past the call's deadline
        # surfaces as a retryable error and moves the message on instead.
        return True

    async def aclose(self) -> None:
        await self.api.aclose()
