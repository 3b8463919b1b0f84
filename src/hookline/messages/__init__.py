"""Every command and event hookline writes: the data models, their types and the catalog.

The public face: :class:`MessageType`, :func:`all_types`, :class:`IngressFailure`.
The models themselves are in one module per domain (:mod:`~hookline.messages.sms`,
:mod:`~hookline.messages.colt`, :mod:`~hookline.messages.reservation`);
:mod:`~hookline.messages.phone` holds the phone-number values they share.
This package imports nothing from providers, services or transports.
"""

from __future__ import annotations

from hookline.messages.base import MessageType
from hookline.messages.catalog import all_types
from hookline.messages.ingress import IngressFailure

__all__ = ["IngressFailure", "MessageType", "all_types"]
