"""Periodic health probes of every configured provider (docs/providers/README.md#health-probes).

For each ``providers.<name>`` whose registry spec builds a client, a
:class:`Probe` builds that client (``ProviderSpec.client``: the SMS provider,
reservation platform or Colt client the workers use, with the same auth,
limits and breaker) and calls its ``health()`` every ``health.interval_seconds``:
the token when one is due, then the provider's cheapest authenticated read.
Each result is kept (up, when, how long, the masked error) and exported as
``hookline_provider_up{provider}`` and ``hookline_provider_probe_seconds{provider}``.
The ingress runs a :class:`ProviderProbes` in its lifespan and serves the
results at ``/admin/providers``, ``/health/integration/{provider}`` and, for
providers with ``health.required_for_ready``, in ``/readyz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from hookline.config.models import HooklineSettings, ProbeSettings
from hookline.config.secrets import iter_secrets
from hookline.observability.loop_metrics import LoopGauge
from hookline.observability.masking import SecretRegistry, mask_text
from hookline.observability.metrics import REGISTRY
from hookline.providers.base import ProviderSpec
from hookline.providers.registry import PROVIDERS

__all__ = [
    "PROBE_SECONDS",
    "PROVIDER_UP",
    "Probe",
    "ProbeStatus",
    "ProviderProbes",
    "default_interval",
]

log = structlog.get_logger("hookline.providers")

PROVIDER_UP = LoopGauge(
    "hookline_provider_up",
    "1 when the provider's last health probe (token and a real authenticated call) passed, "
    "0 when it failed; with serve --workers N, 0 when any live process's probe failed.",
    ["provider"],
    registry=REGISTRY,
    across_processes="min_live",
)
PROBE_SECONDS = LoopGauge(
    "hookline_provider_probe_seconds",
    "How long the provider's last health probe took (token, call and retries), passed or failed.",
    ["provider"],
    registry=REGISTRY,
)

# SMS providers keep their documented 5-minute checks (docs/providers/sms.md);
# every other provider is probed each minute unless configured otherwise.
_FAMILY_INTERVALS = {"sms": 300.0}
_DEFAULT_INTERVAL = 60.0
_ERROR_CHARS = 300


def default_interval(family: str | None) -> float:
    return _FAMILY_INTERVALS.get(family or "", _DEFAULT_INTERVAL)


@dataclass
class ProbeStatus:
    """One provider's last probe as ``/admin/providers`` shows it."""

    provider: str
    interval_seconds: float
    required_for_ready: bool
    up: bool | None = None  # None: not probed yet
    checked_at: datetime | None = None
    latency_seconds: float | None = None
    error: str | None = None
    since: datetime | None = None  # when ``up`` last changed

    @property
    def state(self) -> str:
        return {None: "unknown", True: "up", False: "down"}[self.up]

    def as_dict(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment is not None else None

        return {
            "provider": self.provider,
            "up": self.up,
            "state": self.state,
            "checked_at": iso(self.checked_at),
            "latency_seconds": self.latency_seconds,
            "error": self.error,
            "since": iso(self.since),
            "interval_seconds": self.interval_seconds,
            "required_for_ready": self.required_for_ready,
        }


class Probe:
    """One provider's probe: builds its client on first use, then ``health()`` on demand."""

    def __init__(
        self,
        name: str,
        build: Callable[[], Any],
        settings: ProbeSettings,
        interval: float,
        secrets: SecretRegistry | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.status = ProbeStatus(name, interval, settings.required_for_ready)
        self._build = build
        self._port: Any = None
        self._secrets = secrets or SecretRegistry()

    async def check(self) -> ProbeStatus:
        """Probe once and record the result; never raises for a provider's failure."""
        started = time.monotonic()
        error: BaseException | None = None
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                if self._port is None:
                    # A client that cannot be built (a missing setting) is a failing
                    # probe, tried again next time, not a failed start-up.
                    self._port = self._build()
                ok = await self._port.health()
        except Exception as exc:
            ok, error = False, exc
        else:
            ok = ok is True
        self._record(ok, time.monotonic() - started, error)
        return self.status

    def _record(self, ok: bool, latency: float, error: BaseException | None) -> None:
        status = self.status
        before = status.up
        now = datetime.now(UTC)
        status.up, status.checked_at, status.latency_seconds = ok, now, round(latency, 6)
        status.error = None if ok else self._describe(error)
        if before is not ok:
            status.since = now
        PROVIDER_UP.labels(self.name).set(1 if ok else 0)
        PROBE_SECONDS.labels(self.name).set(latency)
        if before is not ok:
            report = log.info if ok else log.warning
            report("providers.probe_changed", provider=self.name, up=ok, error=status.error)

    def _describe(self, error: BaseException | None) -> str:
        if error is None:
            return "the health call answered, but not as a working account does"
        if isinstance(error, TimeoutError):
            text = f"TimeoutError: no answer within {self.settings.timeout_seconds:g} s"
        else:
            text = f"{type(error).__name__}: {error}"
            status = getattr(error, "status", None)  # the provider's answer, when it gave one
            if isinstance(status, int) and str(status) not in text:
                text = f"{type(error).__name__} (HTTP {status}): {error}"
        text = mask_text(self._secrets.redact(text))
        return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"

    async def run(self) -> None:
        """Probe now, then every interval, until cancelled."""
        while True:
            await self.check()
            await asyncio.sleep(self.status.interval_seconds)

    async def aclose(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(Exception):
                await port.aclose()


def _provider_secrets(settings: HooklineSettings, name: str) -> SecretRegistry:
    """This provider's resolved secret values, to redact from its errors."""
    registry = SecretRegistry()
    values = []
    for _, secret in iter_secrets(settings.providers[name]):
        with contextlib.suppress(Exception):
            values.append(secret.get())
    registry.add(values)
    return registry


class ProviderProbes:
    """Every configured provider's probe, each on its own schedule."""

    def __init__(self, probes: list[Probe]) -> None:
        self.probes = {probe.name: probe for probe in probes}
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_settings(
        cls, settings: HooklineSettings, specs: Mapping[str, ProviderSpec] = PROVIDERS
    ) -> ProviderProbes:
        """A probe per ``providers.<name>`` with a registered client and ``health.enabled``."""
        probes = []
        for name, provider in sorted(settings.providers.items()):
            spec = specs.get(name)
            if spec is None or spec.client is None or not provider.health.enabled:
                continue
            probes.append(
                Probe(
                    name,
                    functools.partial(spec.client, settings),
                    provider.health,
                    provider.health.interval_seconds or default_interval(spec.family),
                    _provider_secrets(settings, name),
                )
            )
        return cls(probes)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(probe.run(), name=f"hookline-probe-{probe.name}")
            for probe in self.probes.values()
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for probe in self.probes.values():
            await probe.aclose()

    async def check(self) -> list[ProbeStatus]:
        """Probe every provider now (``hookline`` tests and tools; the schedule goes on)."""
        return list(await asyncio.gather(*(p.check() for p in self.probes.values())))

    def statuses(self) -> list[ProbeStatus]:
        return [probe.status for probe in self.probes.values()]

    def status(self, name: str) -> ProbeStatus | None:
        probe = self.probes.get(name)
        return probe.status if probe is not None else None

    def failing_required(self) -> list[str]:
        """Providers with ``required_for_ready`` whose last probe did not pass (or none ran yet)."""
        return sorted(
            s.provider for s in self.statuses() if s.required_for_ready and s.up is not True
        )
