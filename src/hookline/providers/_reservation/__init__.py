"""The reservation family kit: what every reservation or charging platform implements and shares.

The port the ``reservation`` service talks to (:class:`Platform`,
:class:`ChargingPlatform`, :class:`Outcome`), client defaults, error maps,
webhook normalizing pieces and the simulator kit.
"""

from hookline.providers._reservation.clients import Defaults
from hookline.providers._reservation.normalize import PlatformAdapter, booking_event
from hookline.providers._reservation.platform import ChargingPlatform, Outcome, Platform

__all__ = [
    "ChargingPlatform",
    "Defaults",
    "Outcome",
    "Platform",
    "PlatformAdapter",
    "booking_event",
]
