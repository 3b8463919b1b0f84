"""E.164 validation and segment counting."""

from __future__ import annotations

import pytest

from hookline.errors import PermanentError
from hookline.messages.phone import (
    InvalidPhoneNumber,
    from_taiwan_national,
    is_taiwan,
    taiwan_national,
    validate_e164,
)
from hookline.providers._sms.segments import segment


@pytest.mark.parametrize(
    "number", ["+886912345678", "+14155550123", "+447700900123", "+8613800138000"]
)
def test_valid_e164_numbers_pass(number: str) -> None:
    """Well-formed E.164 numbers are returned unchanged."""
    assert validate_e164(number) == number


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", "empty"),
        ("0912345678", "must start with +"),
        ("+0912345678", "not starting with 0"),
        ("+886 912 345 678", "spaces"),
        ("+1-415-555-0123", "separators"),
        ("+123", "7 to 15 digits"),
        ("+1234567890123456", "7 to 15 digits"),
        ("+88621234567", "mobile"),
        ("+1415555012a", "7 to 15 digits"),
    ],
)
def test_invalid_numbers_are_permanent_errors_with_a_reason(number: str, reason: str) -> None:
    """A malformed number raises a permanent invalid_recipient error naming what is wrong."""
    with pytest.raises(InvalidPhoneNumber) as info:
        validate_e164(number)
    assert isinstance(info.value, PermanentError)
    assert info.value.code == "invalid_recipient"
    assert reason in str(info.value)


def test_taiwan_formats_round_trip() -> None:
    """+886 numbers convert to the national 09… form Mitake wants and back."""
    assert is_taiwan("+886912345678") and not is_taiwan("+14155550123")
    assert taiwan_national("+886912345678") == "0912345678"
    assert from_taiwan_national("0912345678") == "+886912345678"
    assert from_taiwan_national("886912345678") == "+886912345678"
    assert from_taiwan_national("+14155550123") == "+14155550123"


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # extension characters take two septets
        ("€" * 81, "gsm7", 2),
        ("您好" * 35, "ucs2", 1),
        ("您好" * 35 + "!", "ucs2", 2),
        ("x" * 134 + "😀", "ucs2", 3),  # one emoji makes the whole body UCS-2
    ],
)
def test_segments_follow_gsm_and_ucs2_limits(body: str, encoding: str, segments: int) -> None:
    """GSM-7 bodies fit 160 (153 per part), UCS-2 bodies 70 (67 per part)."""
    result = segment(body)
    assert (result.encoding, result.segments) == (encoding, segments)
