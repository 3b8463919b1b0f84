"""Every8d delivery reports normalize to sms.message.* events (docs/providers/every8d.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from hookline.errors import NormalizationError
from hookline.providers.base import RawWebhook, parse_body
from hookline.providers.every8d import SPEC
from hookline.signatures.base import Headers

FORM = "application/x-www-form-urlencoded"
MID = "7b0e2f6c-3f1a-4e55-9a0b-1c2d3e4f5a6b"


def raw(status: str, mobile: str = "0912345678", **drop: str) -> RawWebhook:
    fields = {
        "BatchID": "b-1",
        "Mobile": mobile,
        "Subject": MID,
        "Status": status,
        "StatusTime": "20250301181504",
        "Cost": "1.0",
    }
    for key in drop:
        fields.pop(key)
    body = urlencode(fields).encode()
    return RawWebhook(
        "every8d-dlr",
        "every8d",
        body,
        FORM,
        Headers(),
        {"token": "t"},
        datetime.now(UTC),
        parse_body(body, FORM),
    )


@pytest.mark.parametrize(
    ("status", "type_", "eligible", "error_class"),
    [
        ("300", "sms.message.queued", None, None),
        ("0", "sms.message.sent", None, None),
        ("100", "sms.message.delivered", None, None),
        ("101", "sms.message.undelivered", True, "transient"),
        ("107", "sms.message.undelivered", True, "transient"),
        ("103", "sms.message.undelivered", False, "invalid_recipient"),
        ("303", "sms.message.undelivered", False, "provider"),
        ("500", "sms.message.undelivered", True, "provider"),
        ("-3", "sms.message.undelivered", False, "invalid_recipient"),
    ],
)
def test_status_table(
    status: str, type_: str, eligible: bool | None, error_class: str | None
) -> None:
    """Each Every8d status gives the documented type, class and failover eligibility."""
    [event] = SPEC.adapter.normalize(raw(status))
    assert event.type == type_
    assert event.subject == MID and event.providereventid == f"b-1:0912345678:{status}"
    assert event.data.to == "+886912345678" and event.data.provider_message_id == "b-1"
    if eligible is not None:
        assert event.data.failover_eligible is eligible
        assert event.data.error_class == error_class


def test_status_time_is_read_as_taipei_time() -> None:
    """StatusTime is Asia/Taipei: 18:15:04 there is 10:15:04 UTC."""
    [event] = SPEC.adapter.normalize(raw("100"))
    assert event.time.astimezone(UTC) == datetime(2025, 3, 1, 10, 15, 4, tzinfo=UTC)
    assert event.data.delivered_at.astimezone(UTC) == event.time.astimezone(UTC)


@pytest.mark.parametrize("missing", ["BatchID", "Subject", "Status", "Mobile"])
def test_missing_fields_raise(missing: str) -> None:
    """A report without one of its key fields cannot be normalized."""
    with pytest.raises(NormalizationError, match=missing):
        SPEC.adapter.normalize(raw("100", **{missing: ""}))


def test_unknown_status_raises() -> None:
    """An undocumented status code is a normalization error, not a guess."""
    with pytest.raises(NormalizationError):
        SPEC.adapter.normalize(raw("999"))
