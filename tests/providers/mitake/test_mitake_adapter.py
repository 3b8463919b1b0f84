"""Mitake delivery reports normalize to sms.message.* events and get the exact acknowledgement."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hookline.errors import NormalizationError
from hookline.providers.base import RawWebhook
from hookline.providers.mitake import SPEC
from hookline.signatures.base import Headers

MID = "7b0e2f6c-3f1a-4e55-9a0b-1c2d3e4f5a6b"


def raw(flag: str, **override: str) -> RawWebhook:
    query = {
        "token": "t",
        "ref": MID,
        "msgid": "1010079522",
        "dstaddr": "0912345678",
        "dlvtime": "20250301181500",
        "donetime": "20250301181504",
        "statusstr": "DELIVRD",
        "statuscode": "0",
        "StatusFlag": flag,
        **override,
    }
    query = {k: v for k, v in query.items() if v}
    return RawWebhook(
        "mitake-dlr",
        "mitake",
        b"",
        "application/x-www-form-urlencoded",
        Headers(),
        query,
        datetime.now(UTC),
        {},
    )


@pytest.mark.parametrize(
    ("flag", "type_", "eligible", "error_class"),
    [
        ("0", "sms.message.queued", None, None),
        ("1", "sms.message.sent", None, None),
        ("3", "sms.message.sent", None, None),
        ("4", "sms.message.delivered", None, None),
        ("5", "sms.message.undelivered", False, "content"),
        ("6", "sms.message.undelivered", False, "invalid_recipient"),
        ("7", "sms.message.undelivered", True, "provider"),
        ("8", "sms.message.undelivered", True, "transient"),
        ("9", "sms.message.undelivered", False, "provider"),
    ],
)
def test_status_flag_table(
    flag: str, type_: str, eligible: bool | None, error_class: str | None
) -> None:
    """StatusFlag decides the type (statuscode is only a carrier detail)."""
    [event] = SPEC.adapter.normalize(raw(flag, statuscode="9"))
    assert event.type == type_
    assert event.subject == MID and event.providereventid == f"1010079522:{flag}"
    assert event.data.to == "+886912345678"
    if eligible is not None:
        assert event.data.failover_eligible is eligible
        assert event.data.error_class == error_class


def test_acknowledgement_is_exactly_mitakes_body() -> None:
    """The answer is exactly magicid=sms_gateway_rpack, the msgid, and newlines."""
    events = SPEC.adapter.normalize(raw("4"))
    ack = SPEC.adapter.acknowledgement(events)
    assert ack is not None
    assert ack.body == b"magicid=sms_gateway_rpack\nmsgid=1010079522\n"
    assert ack.media_type == "text/plain" and ack.status == 200


@pytest.mark.parametrize("missing", ["msgid", "StatusFlag", "ref", "dstaddr"])
def test_missing_fields_raise(missing: str) -> None:
    """A report without msgid, StatusFlag, ref or dstaddr cannot be normalized."""
    with pytest.raises(NormalizationError, match=missing):
        SPEC.adapter.normalize(raw("4", **{missing: ""}))


def test_unknown_flag_raises() -> None:
    """An undocumented StatusFlag is a normalization error."""
    with pytest.raises(NormalizationError):
        SPEC.adapter.normalize(raw("X"))
