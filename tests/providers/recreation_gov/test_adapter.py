"""Recreation.gov webhooks → reservation.booking.* (docs/providers/recreation_gov.md#webhooks)."""

from __future__ import annotations

from hookline.providers.recreation_gov import SPEC, samples
from tests.services.reservation.adapter_contract import AdapterContract


class TestRecreationGovAdapter(AdapterContract):
    adapter = SPEC.adapter
    source = "recreation-gov"
    samples = staticmethod(samples)
    id_field = "event_id"
    type_field = "event_type"
    # The contract's id checks take the first sample: one whose id is the provider's own
    # (a cancellation has "{reservation_id}:cancelled", below).
    expected = {
        "reservation-created": ("reservation.booking.created", "rg_res_77d1"),
        "reservation-modified": ("reservation.booking.modified", "rg_res_77d1"),
        "reservation-reminder": ("reservation.booking.reminder", "rg_res_77d1"),
        "reservation-cancelled": ("reservation.booking.cancelled", "rg_res_77d1"),
    }

    def test_a_cancellation_has_an_id_the_reconciler_can_rebuild(self) -> None:
        """cancelled: provider event id "{reservation_id}:cancelled", whatever the delivery's id."""
        [first] = self.deliver(self.sample("reservation-cancelled"), "evt_one")
        [other] = self.deliver(self.sample("reservation-cancelled"), "evt_two")
        assert first.id == other.id
        assert first.providereventid == "rg_res_77d1:cancelled"

    def test_stay_and_party_are_normalized(self) -> None:
        """date/end_date are the stay, party_size is adults + children, reserved reads confirmed."""
        [event] = self.deliver(self.sample("reservation-created"))
        data = event.data
        assert (data["date"], data["end_date"], data["site_id"]) == (
            "2025-06-01",
            "2025-06-03",
            "A12",
        )
        assert data["party_size"] == 4
        assert data["status"] == "confirmed"
        assert data["venue"] == {"id": "232447", "name": "Pine Flat", "kind": "campground"}
        assert data["confirmation"] == "0123-4567"

    def test_cancellation_carries_the_refund(self) -> None:
        """cancelled carries the reason and the refund."""
        [event] = self.deliver(self.sample("reservation-cancelled"))
        assert event.data["cancellation"] == {
            "reason": "fire closure",
            "refund": {"amount": 60.0, "currency": "USD"},
        }
        assert event.data["status"] == "cancelled"

    def test_missing_reservation_object_is_refused(self) -> None:
        """A body without its reservation cannot be normalized."""
        import pytest

        from hookline.errors import NormalizationError

        body = self.sample("reservation-created")
        del body["reservation"]
        with pytest.raises(NormalizationError):
            self.deliver(body)
