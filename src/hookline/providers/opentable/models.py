"""OpenTable wire models (docs/providers/opentable.md#operations): what the API answers, what the client sends.

The normalized events and commands live in :mod:`hookline.messages.reservation`;
they are shared with Recreation.gov and Shell Recharge.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    # Answers may grow fields; keep them rather than fail.
    model_config = ConfigDict(extra="allow")


class Customer(_Wire):
    name: str
    email: str
    phone: str | None = None
    special_requests: str | None = None
    dietary_restrictions: list[str] = Field(default_factory=list)
    occasion: str | None = None


class Reservation(_Wire):
    """An OpenTable reservation as create, read, modify and cancel answer it."""

    reservation_id: str = Field(examples=["ot_res_8f2a"])
    confirmation_number: str = Field(examples=["OT-482913"])
    restaurant_id: str = Field(examples=["rest_001"])
    restaurant_name: str | None = Field(default=None, examples=["Trattoria Uno"])
    party_size: int = Field(examples=[4])
    date: str = Field(examples=["2025-02-01"])
    time: str = Field(examples=["19:00"])
    timezone: str | None = Field(default=None, examples=["America/Los_Angeles"])
    status: str = Field(
        description="confirmed | cancelled | seated | completed | no_show", examples=["confirmed"]
    )
    customer: Customer
    created_at: str | None = None
    updated_at: str | None = None


class Slot(_Wire):
    time: str
    table_type: str | None = None
    points_eligible: bool = False
    points: int = 0
    price: float | None = None


class Availability(_Wire):
    restaurant_id: str
    date: str
    party_size: int
    slots: list[Slot]


# Normalized types are registered once, in services/reservation/models.py.
