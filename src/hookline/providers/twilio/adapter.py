"""Twilio status callbacks → ``sms.message.*`` (docs/providers/twilio.md).

The message id travels in the ``ref`` query parameter of the ``StatusCallback``
URL the client set; the provider event id is ``"{MessageSid}:{MessageStatus}"``.
"""

from __future__ import annotations

from hookline.envelope import CloudEvent
from hookline.errors import NormalizationError
from hookline.messages.phone import from_taiwan_national
from hookline.providers._sms.reports import Meaning, Report, form_fields, required, to_event
from hookline.providers.base import FORM_TYPES, JSON_TYPES, Acknowledgement, RawWebhook

_STATUS: dict[str, Meaning] = {
    "accepted": Meaning("queued"),
    "scheduled": Meaning("queued"),
    "queued": Meaning("queued"),
    "sending": Meaning("queued"),
    "sent": Meaning("sent"),
    "delivered": Meaning("delivered"),
    "read": Meaning("delivered"),
    "canceled": Meaning("undelivered", "provider", failover=False),
}

# Delivery error codes (docs/providers/twilio.md#status-callbacks): which ones another provider may cure.
_ERRORS: dict[str, Meaning] = {
    "30001": Meaning("undelivered", "transient", failover=True),
    "30003": Meaning("undelivered", "transient", failover=True),
    "30008": Meaning("undelivered", "transient", failover=True),
    "30007": Meaning("undelivered", "provider", failover=True),
    "30002": Meaning("undelivered", "provider", failover=True),
    "30004": Meaning("undelivered", "opted_out", failover=False),
    "30005": Meaning("undelivered", "invalid_recipient", failover=False),
    "30006": Meaning("undelivered", "invalid_recipient", failover=False),
}
# An unlisted code on failed/undelivered: the handset did not get it, so another route may.
_UNKNOWN_FAILURE = Meaning("undelivered", "transient", failover=True)


def meaning(status: str, error_code: str | None) -> Meaning:
    if status in ("failed", "undelivered"):
        return _ERRORS.get(error_code or "", _UNKNOWN_FAILURE)
    try:
        return _STATUS[status]
    except KeyError as exc:
        raise NormalizationError(f"unknown Twilio MessageStatus {status!r}") from exc


class TwilioAdapter:
    provider = "twilio"
    domain: str | None = "sms"
    # Callbacks configured for GET carry their fields in the query; JSON bodies are
    # signed through the bodySHA256 query parameter (signatures/twilio.py).
    methods: tuple[str, ...] = ("POST", "GET")
    content_types: tuple[str, ...] = (*FORM_TYPES, *JSON_TYPES)

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        fields = form_fields(raw)
        sid = fields.get("MessageSid") or fields.get("SmsSid") or ""
        if not sid:
            raise NormalizationError("Twilio status callback has no MessageSid")
        status = (fields.get("MessageStatus") or fields.get("SmsStatus") or "").strip().lower()
        if not status:
            raise NormalizationError("Twilio status callback has no MessageStatus")
        error_code = fields.get("ErrorCode") or None
        report = Report(
            provider="twilio",
            message_id=required(fields, "ref", "Twilio"),
            provider_message_id=sid,
            to=from_taiwan_national(required(fields, "To", "Twilio")),
            provider_status=status,
            meaning=meaning(status, error_code),
            provider_event_id=f"{sid}:{status}",
            time=raw.received_at,
            error_code=error_code,
        )
        return [to_event(raw, report)]

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None:
        return None  # any 2xx acknowledges a status callback
