"""E.164 phone numbers: validation before any provider call, and the formats providers want.

Validation is deliberately structural (``+``, a country code that does not start
with 0, 7–15 digits in all): the providers do the carrier-level checks and their
answer (``invalid_recipient``) never fails over.
"""

from __future__ import annotations

import re

from hookline.errors import PermanentError

TAIWAN_PREFIX = "+886"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class InvalidPhoneNumber(PermanentError):
    """The number is not E.164; nothing was sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"recipient is not an E.164 number: {reason}", code="invalid_recipient")
        self.reason = reason


def validate_e164(number: str) -> str:
    """Return ``number`` if it is E.164 (``+886912345678``); raise :class:`InvalidPhoneNumber`."""
    if not isinstance(number, str) or not number:
        raise InvalidPhoneNumber("empty")
    if number != number.strip() or " " in number or "-" in number:
        raise InvalidPhoneNumber("contains spaces or separators")
    if not number.startswith("+"):
        raise InvalidPhoneNumber("must start with + and the country code")
    if not _E164.fullmatch(number):
        raise InvalidPhoneNumber("must be + followed by 7 to 15 digits, not starting with 0")
    if number.startswith(TAIWAN_PREFIX) and not re.fullmatch(r"\+8869\d{8}", number):
        # Taiwan mobiles are 09XXXXXXXX nationally; the local gateways take nothing else.
        raise InvalidPhoneNumber("a +886 number must be a mobile number (+8869 and 8 digits)")
    return number


def is_taiwan(number: str) -> bool:
    return number.startswith(TAIWAN_PREFIX)


def taiwan_national(number: str) -> str:
    """``+886912345678`` → ``0912345678`` (Mitake's ``dstaddr``)."""
    if not is_taiwan(number):
        raise ValueError("not a +886 number")
    return "0" + number[len(TAIWAN_PREFIX) :]


def from_taiwan_national(number: str) -> str:
    """``0912345678`` → ``+886912345678``; E.164 input is returned unchanged."""
    number = number.strip()
    if number.startswith("+"):
        return number
    if number.startswith("886"):
        return "+" + number
    if number.startswith("0"):
        return TAIWAN_PREFIX + number[1:]
    return number
