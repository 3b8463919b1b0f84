"""Each SMS provider's own health check, run every few minutes (docs/providers/sms.md).

Twilio's account, Every8d's credit and Mitake's query endpoints answer when the
provider and our credentials work. A provider whose last check failed moves to
the end of the route (it is still tried when the others fail); the result is
exported as ``hookline_sms_provider_healthy``. The check calls go through each
client's resilient HTTP stack, so repeated failures also open its breaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import structlog

from hookline.providers._sms.contract import SmsProvider
from hookline.services.sms import metrics

log = structlog.get_logger("hookline.sms")


class HealthChecks:
    def __init__(self, providers: Mapping[str, SmsProvider], interval: float) -> None:
        self.providers = dict(providers)
        self.interval = interval
        self._passed: dict[str, bool] = {}

    def passed(self, name: str) -> bool:
        """The last check's result; True until a check has run (no news is not bad news)."""
        return self._passed.get(name, True)

    async def check(self) -> dict[str, bool]:
        """Check every provider at once; returns (and keeps) each one's result."""
        names = list(self.providers)
        outcomes = await asyncio.gather(
            *(self.providers[name].health() for name in names), return_exceptions=True
        )
        results: dict[str, bool] = {}
        for name, outcome in zip(names, outcomes, strict=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancellation and exits are not a provider's health
            ok = outcome is True
            before = self._passed.get(name)
            self._passed[name] = results[name] = ok
            metrics.PROVIDER_HEALTHY.labels(name).set(1 if ok else 0)
            if before is not ok:
                detail = type(outcome).__name__ if isinstance(outcome, Exception) else None
                report = log.info if ok else log.warning
                report("sms.provider_health", provider=name, healthy=ok, error=detail)
        return results

    async def run(self) -> None:
        """Check now, then every ``interval`` seconds, until cancelled."""
        while True:
            await self.check()
            await asyncio.sleep(self.interval)
