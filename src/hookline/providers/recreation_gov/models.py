"""Recreation.gov wire models: RIDB facilities, the month availability grid, bookings (docs/providers/recreation_gov.md#operations).

The normalized events and commands live in :mod:`hookline.messages.reservation`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class Fees(_Wire):
    booking_fee: float
    nightly_total: float
    total: float
    currency: str = "USD"


class Refund(_Wire):
    amount: float
    currency: str = "USD"


class Reservation(_Wire):
    """A booking as create, read, modify and cancel answer it."""

    reservation_id: str = Field(examples=["rg_res_77d1"])
    confirmation_code: str = Field(examples=["0123-4567"])
    campground_id: str | None = Field(default=None, examples=["232447"])
    site_id: str | None = Field(default=None, examples=["A12"])
    start_date: str | None = Field(default=None, examples=["2025-06-01"])
    end_date: str | None = Field(default=None, examples=["2025-06-03"])
    status: str = Field(description="reserved | cancelled", examples=["reserved"])
    nights: int | None = None
    fees: Fees | None = None
    cancellation_policy: str | None = None
    qr_code_url: str | None = None
    refund: Refund | None = None


class Campsite(_Wire):
    campsite_id: str
    site: str | None = None
    loop: str | None = None
    campsite_type: str | None = None
    max_num_people: int | None = None
    permitted_equipment: list[str] = Field(default_factory=list)
    availabilities: dict[str, str] = Field(default_factory=dict)


class MonthAvailability(_Wire):
    campsites: dict[str, Campsite]
