"""Each provider's answers map to the error classes the failover rules use (docs/providers/sms.md#error-classes-and-failover)."""

from __future__ import annotations

import json

import httpx
import pytest

from hookline.errors import PermanentError, RetryableError
from hookline.http.errors import AuthFailed
from hookline.providers.every8d.client import Every8dErrors
from hookline.providers.mitake.client import MitakeErrors, parse_ini
from hookline.providers.twilio.client import TwilioErrors
from hookline.services.sms.failures import classify


def _twilio(status: int, code: int) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps({"code": code, "message": "m", "status": status})
    )


@pytest.mark.parametrize(
    ("response", "mapper", "error_class", "failover"),
    [
        (_twilio(400, 21211), TwilioErrors(), "invalid_recipient", False),
        (_twilio(400, 21614), TwilioErrors(), "invalid_recipient", False),
        (_twilio(400, 21610), TwilioErrors(), "opted_out", False),
        (_twilio(400, 21617), TwilioErrors(), "content", False),
        (_twilio(400, 21408), TwilioErrors(), "provider", True),
        (_twilio(401, 20003), TwilioErrors(), "provider", True),
        (_twilio(429, 20429), TwilioErrors(), "transient", True),
        (_twilio(503, 20500), TwilioErrors(), "transient", True),
        (httpx.Response(200, text="-2,帳號或密碼錯誤"), Every8dErrors(), "provider", True),
        (httpx.Response(200, text="-3,門號錯誤"), Every8dErrors(), "invalid_recipient", False),
        (httpx.Response(200, text="-5,過長"), Every8dErrors(), "content", False),
        (httpx.Response(200, text="-99,主機端發生錯誤"), Every8dErrors(), "transient", True),
        (httpx.Response(503, text="-99,x"), Every8dErrors(), "transient", True),
        (
            httpx.Response(200, text="[1]\r\nstatuscode=e\r\nError=x\r\n"),
            MitakeErrors(),
            "provider",
            True,
        ),
        (httpx.Response(200, text="[1]\r\nstatuscode=k\r\n"), MitakeErrors(), "provider", True),
        (
            httpx.Response(200, text="[1]\r\nstatuscode=v\r\n"),
            MitakeErrors(),
            "invalid_recipient",
            False,
        ),
        (httpx.Response(200, text="[1]\r\nstatuscode=x\r\n"), MitakeErrors(), "content", False),
        (httpx.Response(200, text="[1]\r\nstatuscode=l\r\n"), MitakeErrors(), "transient", True),
        (httpx.Response(200, text="[1]\r\nstatuscode=*\r\n"), MitakeErrors(), "transient", True),
        (httpx.Response(200, text="[1]\r\nmsgid=10"), MitakeErrors(), "transient", True),  # cut off
    ],
)
def test_error_classes_and_failover(
    response: httpx.Response,
    mapper: TwilioErrors | Every8dErrors | MitakeErrors,
    error_class: str,
    failover: bool,
) -> None:
    """The provider's code becomes the documented class; only provider/transient errors fail over."""
    error = mapper.classify(response)
    assert error is not None
    failure = classify(error)
    assert (failure.error_class, failure.failover) == (error_class, failover)
    assert isinstance(error, RetryableError) == (error_class == "transient")
    if error_class != "transient":
        assert isinstance(error, PermanentError)


@pytest.mark.parametrize(
    ("response", "mapper"),
    [
        (httpx.Response(201, content=b'{"sid": "SM1"}'), TwilioErrors()),
        (httpx.Response(200, text="79.0,1,1.0,0,3f2c9a1e"), Every8dErrors()),
        (
            httpx.Response(
                200, text="[1]\r\nmsgid=1010079522\r\nstatuscode=1\r\nAccountPoint=98\r\n"
            ),
            MitakeErrors(),
        ),
        (httpx.Response(200, text="AccountPoint=98\r\n"), MitakeErrors()),
    ],
)
def test_success_answers_are_not_errors(
    response: httpx.Response, mapper: TwilioErrors | Every8dErrors | MitakeErrors
) -> None:
    """Accepted sends and account queries classify as no error."""
    assert mapper.classify(response) is None


def test_auth_failures_count_for_the_breaker() -> None:
    """Refused credentials are AuthFailed, which the ApiClient's breaker counts."""
    assert isinstance(TwilioErrors().classify(_twilio(401, 20003)), AuthFailed)
    assert isinstance(Every8dErrors().classify(httpx.Response(200, text="-2,x")), AuthFailed)
    assert isinstance(
        MitakeErrors().classify(httpx.Response(200, text="[1]\r\nstatuscode=d\r\n")), AuthFailed
    )


def test_mitake_ini_reads_the_first_block() -> None:
    """The INI answer is read from its first [n] block, CRLF or LF."""
    text = "[1]\r\nmsgid=1010079522\r\nstatuscode=1\r\nDuplicate=Y\r\n[2]\r\nmsgid=9\r\n"
    assert parse_ini(text) == {"msgid": "1010079522", "statuscode": "1", "Duplicate": "Y"}
