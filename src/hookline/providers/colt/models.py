"""Colt's webhook payloads as Colt delivers them (camelCase), validated by the adapter.

See ``docs/providers/colt.md``. The normalized events and commands are in
:mod:`hookline.messages.colt`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hookline.messages.colt import OrderStatus

__all__ = [
    "ColtContact",
    "ColtNotification",
    "ColtOrderChange",
    "ColtServiceAlert",
    "to_e164",
]

_PHONE_NOISE = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def to_e164(phone: str | None) -> str | None:
    """``"+44 20 7946 0958"`` → ``"+442079460958"``; ``None`` when not international.

    Colt contacts carry international numbers with spacing; without a country
    there is no safe way to complete a national number, so those become null.
    """
    if not phone:
        return None
    compact = _PHONE_NOISE.sub("", phone)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if _E164.match(compact) else None


class _Colt(BaseModel):
    """A Colt payload: camelCase as sent; unknown fields kept (Colt may add some)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --------------------------------------------------------------------------- webhooks (docs/providers/colt.md#webhooks)


class ColtContact(_Colt):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    role: str | None = None


class ColtOrderChange(_Colt):
    orderId: str = Field(min_length=1)
    quoteId: str | None = None
    purchaseOrderNumber: str | None = None
    previousStatus: OrderStatus | None = None
    status: OrderStatus
    percentComplete: int | None = Field(default=None, ge=0, le=100)
    serviceId: str | None = None
    estimatedCompletionDate: str | None = None
    reason: str | None = None
    technicalContacts: list[ColtContact] = Field(default_factory=list)


class ColtServiceAlert(_Colt):
    serviceId: str = Field(min_length=1)
    alertType: Literal["utilization", "availability"]
    metric: str | None = None
    value: float
    threshold: float | None = None
    periodStart: str | None = None
    periodEnd: str | None = None


class ColtNotification(_Colt):
    """The envelope of every Colt notification."""

    eventId: str = Field(min_length=1)
    eventType: str = Field(min_length=1)
    occurredAt: str | None = None
    data: dict[str, Any]
