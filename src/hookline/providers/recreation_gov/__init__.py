"""Recreation.gov: reservation webhook adapter, RIDB and booking client, simulator (docs/providers/recreation_gov.md)."""

from __future__ import annotations

from hookline.lazy import lazy
from hookline.messages import reservation
from hookline.providers._reservation import samples as _samples
from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.recreation_gov.adapter import RecreationGovAdapter

_DESCRIPTIONS = {
    "reservation-cancelled": "reservation.cancelled (fire closure) with a 60 USD refund",
    "reservation-created": "reservation.created: site A12 at Pine Flat, 2 nights",
    "reservation-modified": "reservation.modified: one more night",
    "reservation-reminder": "reservation.reminder 24 h before arrival",
}


def samples() -> tuple[Sample, ...]:
    """Realistic Recreation.gov webhook bodies for ``hookline send recreation-gov [SAMPLE]``."""
    return _samples.load(__name__, _DESCRIPTIONS)


SPEC = ProviderSpec(
    "recreation_gov",
    RecreationGovAdapter(),
    samples,
    family="reservation",
    client=lazy("hookline.providers.recreation_gov.platform:from_settings"),
    reconcile=lazy("hookline.providers.recreation_gov.reconcile:check"),
    simulator=lazy("hookline.providers.recreation_gov.simulator:create_app"),
    simulator_port=8106,
    callback_source="recreation-gov",
    message_types=reservation.MESSAGE_TYPES,
)

__all__ = ["SPEC", "RecreationGovAdapter", "samples"]
