"""Shell Recharge wire models: stations, connector reservations, sessions, receipts (docs/providers/shell_recharge.md#operations).

The normalized events and commands live in :mod:`hookline.messages.reservation`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class ConnectorReservation(_Wire):
    reservation_id: str = Field(examples=["sr_res_1a2b"])
    status: str = Field(description="reserved | cancelled", examples=["reserved"])
    station_id: str | None = None
    connector_id: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    duration_minutes: int | None = None


class Session(_Wire):
    """``POST /sessions`` and ``GET /sessions/{id}`` answers."""

    session_id: str = Field(examples=["sr_sess_3b9e"])
    status: str = Field(
        description="starting | charging | stopping | completed | failed", examples=["charging"]
    )
    started_at: str | None = None
    station_id: str | None = None
    connector_id: str | None = None
    reservation_id: str | None = None
    energy_kwh: float = 0.0
    power_kw: float | None = None
    soc_percent: float | None = None
    duration_seconds: int | None = None


class ReceiptCost(_Wire):
    energy: float
    time: float
    session_fee: float
    total: float
    currency: str = "USD"


class Receipt(_Wire):
    """``POST /sessions/{id}/stop``: the receipt (the same for a session already completed)."""

    session_id: str
    status: str
    energy_kwh: float
    duration_minutes: int
    cost: ReceiptCost
    co2_saved_kg: float | None = None
    renewable_percent: float | None = None
