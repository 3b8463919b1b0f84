"""OpenTable: reservation webhook adapter, API client, simulator (docs/providers/opentable.md)."""

from __future__ import annotations

from hookline.lazy import lazy
from hookline.messages import reservation
from hookline.providers._reservation import samples as _samples
from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.opentable.adapter import OpenTableAdapter

_DESCRIPTIONS = {
    "reservation-cancelled": "reservation.cancelled by the diner (plans changed)",
    "reservation-created": "reservation.created: a table for 4 at 19:00",
    "reservation-modified": "reservation.modified: party size 4 → 6",
    "reservation-reminder": "reservation.reminder 24 h before",
}


def samples() -> tuple[Sample, ...]:
    """Realistic OpenTable webhook bodies for ``hookline send opentable [SAMPLE]``."""
    return _samples.load(__name__, _DESCRIPTIONS)


SPEC = ProviderSpec(
    "opentable",
    OpenTableAdapter(),
    samples,
    family="reservation",
    client=lazy("hookline.providers.opentable.platform:from_settings"),
    reconcile=lazy("hookline.providers.opentable.reconcile:check"),
    simulator=lazy("hookline.providers.opentable.simulator:create_app"),
    simulator_port=8105,
    callback_source="opentable",
    message_types=reservation.MESSAGE_TYPES,
)

__all__ = ["SPEC", "OpenTableAdapter", "samples"]
