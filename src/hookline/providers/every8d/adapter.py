"""Every8d delivery reports → ``sms.message.*`` (docs/providers/every8d.md).

Every8d's API 2.1 documents only polling; the pushed report (form fields
``BatchID, Mobile, Subject, Status, StatusTime, Cost``) is a hookline
convention the simulator follows. ``Subject`` echoes ``SB``, where the client
put the message id.
"""

from __future__ import annotations

from hookline.envelope import CloudEvent
from hookline.errors import NormalizationError
from hookline.messages.phone import from_taiwan_national
from hookline.providers._sms.reports import (
    Meaning,
    Report,
    form_fields,
    required,
    taipei_time,
    to_event,
)
from hookline.providers.base import FORM_TYPES, Acknowledgement, RawWebhook

_TRANSIENT = Meaning("undelivered", "transient", failover=True)
_RECIPIENT = Meaning("undelivered", "invalid_recipient", failover=False)

STATUS: dict[str, Meaning] = {
    "0": Meaning("sent"),
    "100": Meaning("delivered"),
    **{code: _TRANSIENT for code in ("101", "102", "105", "106", "107")},
    "103": _RECIPIENT,
    "104": _RECIPIENT,
    "300": Meaning("queued"),
    "303": Meaning("undelivered", "provider", failover=False),
    "500": Meaning("undelivered", "provider", failover=True),
    # The send-failure codes can appear as a report status too (docs/providers/every8d.md#delivery-reports).
    "-1": Meaning("undelivered", "content", failover=False),
    "-2": Meaning("undelivered", "provider", failover=True),
    "-3": _RECIPIENT,
    "-4": Meaning("undelivered", "provider", failover=True),
    "-5": Meaning("undelivered", "content", failover=False),
    "-6": Meaning("undelivered", "content", failover=False),
    "-99": _TRANSIENT,
}


def meaning(status: str) -> Meaning:
    try:
        return STATUS[status]
    except KeyError as exc:
        raise NormalizationError(f"unknown Every8d Status {status!r}") from exc


class Every8dAdapter:
    provider = "every8d"
    domain: str | None = "sms"
    content_types: tuple[str, ...] = FORM_TYPES

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        fields = form_fields(raw)
        batch = required(fields, "BatchID", "Every8d")
        mobile = required(fields, "Mobile", "Every8d")
        status = required(fields, "Status", "Every8d")
        report = Report(
            provider="every8d",
            message_id=required(fields, "Subject", "Every8d"),
            provider_message_id=batch,
            to=from_taiwan_national(mobile),
            provider_status=status,
            meaning=meaning(status),
            provider_event_id=f"{batch}:{mobile}:{status}",
            time=taipei_time(fields.get("StatusTime"), raw.received_at),
            error_code=status if meaning(status).outcome == "undelivered" else None,
        )
        return [to_event(raw, report)]

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None:
        return None
