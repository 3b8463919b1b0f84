"""Shell Recharge: charging-session webhook adapter, API client, simulator (docs/providers/shell_recharge.md)."""

from __future__ import annotations

from hookline.lazy import lazy
from hookline.messages import reservation
from hookline.providers._reservation import samples as _samples
from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.shell_recharge.adapter import ShellRechargeAdapter

_DESCRIPTIONS = {
    "session-completed": "session.completed: 42.7 kWh, 18.08 USD receipt",
    "session-started": "session.started on conn_001",
    "session-progress": "session.progress: 2.5 kWh, 23 % SOC",
    "session-failed": "session.failed: CONNECTOR_FAULT",
    "reservation-cancelled": "reservation.cancelled: connector reservation released",
}


def samples() -> tuple[Sample, ...]:
    """Realistic Shell Recharge webhook bodies for ``hookline send shell-recharge [SAMPLE]``."""
    return _samples.load(__name__, _DESCRIPTIONS)


SPEC = ProviderSpec(
    "shell_recharge",
    ShellRechargeAdapter(),
    samples,
    family="reservation",
    client=lazy("hookline.providers.shell_recharge.platform:from_settings"),
    reconcile=lazy("hookline.providers.shell_recharge.reconcile:check"),
    simulator=lazy("hookline.providers.shell_recharge.simulator:create_app"),
    simulator_port=8107,
    callback_source="shell-recharge",
    message_types=reservation.MESSAGE_TYPES,
)

__all__ = ["SPEC", "ShellRechargeAdapter", "samples"]
