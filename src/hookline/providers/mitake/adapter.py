"""Mitake delivery reports → ``sms.message.*`` (docs/providers/mitake.md).

Mitake reports in the query string of the ``response`` URL the client gave
(``ref`` = message id, hookline convention). ``StatusFlag`` is authoritative;
``statuscode`` is a carrier detail. Mitake retries a report until the answer is
exactly ``magicid=sms_gateway_rpack\\nmsgid=<msgid>\\n``.
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

STATUS_FLAG: dict[str, Meaning] = {
    "0": Meaning("queued"),
    "1": Meaning("sent"),
    "2": Meaning("sent"),
    "3": Meaning("sent"),
    "4": Meaning("delivered"),
    "5": Meaning("undelivered", "content", failover=False),
    "6": Meaning("undelivered", "invalid_recipient", failover=False),
    "7": Meaning("undelivered", "provider", failover=True),
    "8": Meaning("undelivered", "transient", failover=True),
    "9": Meaning("undelivered", "provider", failover=False),
}


def acknowledgement_body(msgid: str) -> bytes:
    return f"magicid=sms_gateway_rpack\nmsgid={msgid}\n".encode()


class MitakeAdapter:
    provider = "mitake"
    domain: str | None = "sms"
    # Real Mitake calls the report URL with GET, the fields in the query; a POST
    # carrying the same fields as a form is taken too.
    methods: tuple[str, ...] = ("POST", "GET")
    content_types: tuple[str, ...] = (*FORM_TYPES, "text/plain", "")

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        fields = form_fields(raw)
        msgid = required(fields, "msgid", "Mitake")
        flag = required(fields, "StatusFlag", "Mitake")
        try:
            what = STATUS_FLAG[flag]
        except KeyError as exc:
            raise NormalizationError(f"unknown Mitake StatusFlag {flag!r}") from exc
        done = fields.get("donetime") or fields.get("dlvtime")
        report = Report(
            provider="mitake",
            message_id=required(fields, "ref", "Mitake"),
            provider_message_id=msgid,
            to=from_taiwan_national(required(fields, "dstaddr", "Mitake")),
            provider_status=flag,
            meaning=what,
            provider_event_id=f"{msgid}:{flag}",
            time=taipei_time(done, raw.received_at),
            error_code=f"StatusFlag={flag}" if what.outcome == "undelivered" else None,
        )
        return [to_event(raw, report)]

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None:
        msgid = (
            events[0].providereventid.split(":", 1)[0]
            if events and events[0].providereventid
            else ""
        )
        return Acknowledgement(acknowledgement_body(msgid), media_type="text/plain", status=200)
