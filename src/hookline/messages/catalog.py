"""Every event and command type hookline writes, with its data model and topic.

This is what ``hookline schemas export`` documents for downstream teams. Each
message module exposes a ``MESSAGE_TYPES`` tuple; this module lists them, one
line each. A provider's spec names the types it produces
(:attr:`hookline.providers.base.ProviderSpec.message_types`); a test checks that
each is listed here.
"""

from __future__ import annotations

from hookline.messages import audit, colt, ingress, reconcile, reservation, sms
from hookline.messages.base import MessageType

__all__ = ["all_types"]

_GROUPS: tuple[tuple[MessageType, ...], ...] = (
    ingress.MESSAGE_TYPES,
    sms.MESSAGE_TYPES,
    colt.MESSAGE_TYPES,
    reservation.MESSAGE_TYPES,
    audit.MESSAGE_TYPES,
    reconcile.MESSAGE_TYPES,
)


def all_types() -> dict[str, MessageType]:
    """Every registered type by name."""
    return {t.type: t for group in _GROUPS for t in group}
