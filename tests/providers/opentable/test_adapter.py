"""OpenTable webhooks → reservation.booking.* (docs/providers/opentable.md#webhooks)."""

from __future__ import annotations

from hookline.providers.opentable import SPEC, samples
from tests.services.reservation.adapter_contract import AdapterContract


class TestOpenTableAdapter(AdapterContract):
    adapter = SPEC.adapter
    source = "opentable"
    samples = staticmethod(samples)
    id_header = "webhook-id"
    # The contract's id checks take the first sample: one whose id is the provider's own
    # (a cancellation has "{reservation_id}:cancelled", below).
    expected = {
        "reservation-created": ("reservation.booking.created", "ot_res_8f2a"),
        "reservation-modified": ("reservation.booking.modified", "ot_res_8f2a"),
        "reservation-reminder": ("reservation.booking.reminder", "ot_res_8f2a"),
        "reservation-cancelled": ("reservation.booking.cancelled", "ot_res_8f2a"),
    }

    def test_a_cancellation_has_an_id_the_reconciler_can_rebuild(self) -> None:
        """cancelled: provider event id "{reservation_id}:cancelled", whatever the delivery's id."""
        [first] = self.deliver(self.sample("reservation-cancelled"), "evt_one")
        [other] = self.deliver(self.sample("reservation-cancelled"), "evt_two")
        assert first.id == other.id
        assert first.providereventid == "ot_res_8f2a:cancelled"

    def test_cancellation_keeps_who_and_why(self) -> None:
        """cancelled carries cancellation.by / reason and status cancelled."""
        [event] = self.deliver(self.sample("reservation-cancelled"))
        assert event.data["status"] == "cancelled"
        assert event.data["cancellation"] == {"by": "diner", "reason": "plans changed"}
        assert event.data["venue"] == {
            "id": "rest_001",
            "name": "Trattoria Uno",
            "kind": "restaurant",
        }
        assert event.data["confirmation"] == "OT-482913"

    def test_modified_lists_changes_and_reminder_hours(self) -> None:
        """modified carries changes{field: {from, to}}; reminder carries hours_before."""
        [modified] = self.deliver(self.sample("reservation-modified"))
        assert modified.data["changes"] == {"party_size": {"from": 4, "to": 6}}
        assert modified.data["party_size"] == 6
        [reminder] = self.deliver(self.sample("reservation-reminder"))
        assert reminder.data["hours_before"] == 24

    def test_phone_becomes_e164_or_is_dropped(self) -> None:
        """A formatted phone number is normalized to E.164; one that cannot be is left out, not guessed."""
        body = self.sample("reservation-created")
        body["data"]["customer"]["phone"] = "+1 (555) 555-0123"
        [event] = self.deliver(body)
        assert event.data["customer"]["phone"] == "+15555550123"
        body["data"]["customer"]["phone"] = "555-0123"
        [event] = self.deliver(body)
        assert "phone" not in event.data["customer"]
