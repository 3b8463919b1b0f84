"""For every scheme: a request verifies if and only if it is exactly the one that was signed."""

from __future__ import annotations

import base64
import string
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookline.errors import VerificationError
from hookline.signatures.base import Headers, Scheme, SignedRequest
from tests.signatures.cases import BODY_UNSIGNED, CASES, TIMESTAMPED, options, request, scheme

NOW = float(int(time.time()))
SCHEMES = sorted(CASES)
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Inline secrets must not look like env:/file: references.
secret_text = st.text(
    alphabet=string.ascii_letters + string.digits + "-_!.$ ", min_size=1, max_size=40
).filter(lambda s: s.strip() != "")


def secret_for(case: str, seed: str) -> str:
    if case == "standard-webhooks":
        return "whsec_" + base64.b64encode(seed.encode()).decode()
    return seed


def verifies(sch: Scheme, req: SignedRequest, now: float = NOW) -> bool:
    try:
        sch.verify(req, now)
    except VerificationError:
        return False
    return True


def added_headers(original: SignedRequest, signed: SignedRequest) -> list[str]:
    return [k for k in signed.headers if k not in original.headers]


def drop_header(req: SignedRequest, name: str) -> SignedRequest:
    return SignedRequest(
        body=req.body,
        headers=Headers({k: v for k, v in req.headers.items() if k != name}),
        url=req.url,
    )


def drop_query(req: SignedRequest) -> SignedRequest:
    parts = urlsplit(req.url)
    return SignedRequest(
        body=req.body, headers=req.headers, url=urlunsplit(parts._replace(query=""))
    )


@pytest.mark.parametrize("case", SCHEMES)
@PROPERTY
@given(
    body=st.binary(max_size=300),
    seed=secret_text,
    other_seed=secret_text,
    position=st.integers(min_value=0),
)
def test_verifies_iff_it_is_the_signed_request(
    case: str, body: bytes, seed: str, other_seed: str, position: int
) -> None:
    """Signed → verifies; flipped body byte, dropped header/param, other secret → rejected."""
    secret = secret_for(case, seed)
    sch = scheme(case, secret)
    original = request(case, body)
    signed = sch.sign(original, NOW)
    assert verifies(sch, signed)

    if case not in BODY_UNSIGNED:
        if body:
            index = position % len(body)
            mutated = body[:index] + bytes([body[index] ^ 0x20]) + body[index + 1 :]
        else:
            mutated = b"x"
        assert not verifies(
            sch, SignedRequest(body=mutated, headers=signed.headers, url=signed.url)
        )

    for name in added_headers(original, signed):
        assert not verifies(sch, drop_header(signed, name)), name
    if signed.url != original.url:  # token query param, Twilio bodySHA256
        assert not verifies(sch, drop_query(signed))

    other = secret_for(case, other_seed)
    if other != secret:
        assert not verifies(scheme(case, other), signed)
        # rotation: the right secret anywhere in the list verifies
        assert verifies(scheme(case, other, secret), signed)


@pytest.mark.parametrize("case", sorted(TIMESTAMPED))
@PROPERTY
@given(
    body=st.binary(max_size=100),
    shift=st.integers(min_value=1, max_value=10**7),
    tolerance=st.integers(min_value=1, max_value=3600),
)
def test_timestamp_outside_tolerance_fails_in_both_directions(
    case: str, body: bytes, shift: int, tolerance: int
) -> None:
    """A signature older or newer than the tolerance is refused; inside it is accepted."""
    sch = scheme(case, tolerance_seconds=tolerance)
    signed = sch.sign(request(case, body), NOW)
    assert verifies(sch, signed, NOW + tolerance)
    assert verifies(sch, signed, NOW - tolerance)
    assert not verifies(sch, signed, NOW + tolerance + shift)
    assert not verifies(sch, signed, NOW - tolerance - shift)


HEADER_NAMES = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "Stripe-Signature",
    "X-Hub-Signature-256",
    "X-Twilio-Signature",
    "X-Twilio-Webhooks-Signature-Settings",
    "X-Slack-Signature",
    "X-Slack-Request-Timestamp",
    "X-Shopify-Hmac-Sha256",
    "X-Colt-Signature",
    "X-Sig",
    "X-Sig-Timestamp",
    "X-Token",
    "content-type",
]
garbage_value = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            " ",
            "v1,",
            "v1a,",
            "t=,v1=",
            "t=1,v1=zz",
            "sha256=",
            "v0=",
            "=",
            ",,,",
            "v1,AAAA v1a,AAAA",
            "9" * 40,
            "-1",
            "1e9",
            "application/json",
        ]
    ),
    st.builds(lambda ts, sig: f"t={ts},v1={sig}", st.integers(), st.text(max_size=20)),
)
garbage_url = st.one_of(
    st.just("https://hooks.example.com/webhooks/src"),
    st.builds(lambda q: "https://hooks.example.com:99999/x?" + q, st.text(max_size=40)),
    st.builds(lambda q: "http://[::1/x?bodySHA256=" + q, st.text(max_size=40)),
    st.text(max_size=60),
)


@pytest.mark.parametrize("case", SCHEMES)
@settings(max_examples=60, deadline=None)
@given(
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), garbage_value, max_size=8),
    body=st.binary(max_size=64),
    url=garbage_url,
)
def test_garbage_headers_only_ever_raise_verification_error(
    case: str, headers: dict[str, str], body: bytes, url: str
) -> None:
    """Whatever arrives, a verifier either accepts or raises VerificationError — nothing else escapes."""
    sch = scheme(case)
    reason = None
    try:
        sch.verify(SignedRequest(body=body, headers=Headers(headers), url=url), NOW)
    except VerificationError as exc:
        reason = exc.reason
    assert reason in {
        None,
        "missing_header",
        "malformed",
        "stale_timestamp",
        "future_timestamp",
        "mismatch",
        "missing_token",
    }


def test_options_are_validated_per_scheme() -> None:
    """The options model of each case is the scheme's own (sanity of the shared cases)."""
    for case in SCHEMES:
        assert options(case).scheme == CASES[case][0]["scheme"]
