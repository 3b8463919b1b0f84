"""Shell Recharge webhooks → charging.session.* and reservation.booking.* (docs/providers/shell_recharge.md#webhooks)."""

from __future__ import annotations

import pytest

from hookline.errors import NormalizationError
from hookline.providers.shell_recharge import SPEC, samples
from tests.services.reservation.adapter_contract import AdapterContract


class TestShellRechargeAdapter(AdapterContract):
    adapter = SPEC.adapter
    source = "shell-recharge"
    samples = staticmethod(samples)
    # The contract's id checks take the first sample: one whose id is the provider's own
    # (a session's end has "{session_id}:{suffix}", below).
    expected = {
        "session-started": ("charging.session.started", "sr_sess_3b9e"),
        "session-completed": ("charging.session.completed", "sr_sess_3b9e"),
        "session-progress": ("charging.session.progress", "sr_sess_3b9e"),
        "session-failed": ("charging.session.failed", "sr_sess_3b9e"),
        "reservation-cancelled": ("reservation.booking.cancelled", "sr_res_1a2b"),
    }

    @pytest.mark.parametrize("name", ["session-completed", "session-failed"])
    def test_a_sessions_end_has_an_id_the_reconciler_can_rebuild(self, name: str) -> None:
        """completed/failed: provider event id "{session_id}:{suffix}", whatever the delivery's id."""
        [first] = self.deliver(self.sample(name), "evt_one")
        [other] = self.deliver(self.sample(name), "evt_two")
        assert first.id == other.id
        assert first.providereventid == f"sr_sess_3b9e:{name.removeprefix('session-')}"

    def test_completed_carries_energy_and_the_receipt(self) -> None:
        """completed: kWh, duration in seconds, cost amount = the receipt total with its parts."""
        [event] = self.deliver(self.sample("session-completed"))
        data = event.data
        assert data["energy_kwh"] == 42.7
        assert data["duration_seconds"] == 38 * 60
        assert data["cost"] == {
            "amount": 18.08,
            "currency": "USD",
            "energy": 17.08,
            "time": 0,
            "session_fee": 1.0,
        }
        assert data["driver"]["phone"] == "+15555550199"
        assert data["reservation_id"] == "sr_res_1a2b"

    def test_progress_cost_is_the_cost_so_far(self) -> None:
        """progress: cost.amount is cost_so_far; power and state of charge are kept."""
        [event] = self.deliver(self.sample("session-progress"))
        assert event.data["cost"] == {"amount": 2.0, "currency": "USD"}
        assert (event.data["power_kw"], event.data["soc_percent"]) == (150.0, 23)

    def test_failed_needs_its_failure(self) -> None:
        """failed carries failure{code, message}; a failed event without one is refused."""
        [event] = self.deliver(self.sample("session-failed"))
        assert event.data["failure"]["code"] == "CONNECTOR_FAULT"
        body = self.sample("session-failed")
        del body["data"]["failure"]
        with pytest.raises(NormalizationError):
            self.deliver(body)

    def test_connector_reservation_is_a_booking_at_a_station(self) -> None:
        """reservation.* (hookline convention) → reservation.booking.* with the station as venue."""
        [event] = self.deliver(self.sample("reservation-cancelled"))
        assert event.data["venue"]["kind"] == "charging_station"
        assert event.data["site_id"] == "conn_001"
        assert (event.data["date"], event.data["time"]) == ("2025-01-25", "14:00")
        assert event.data["cancellation"] == {"by": "driver", "reason": "plans changed"}
