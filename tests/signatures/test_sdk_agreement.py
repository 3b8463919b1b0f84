"""Whatever a provider's own verifier refuses, hookline refuses: SDK-signed headers, mutated at random."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

import stripe
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from slack_sdk.signature import Clock, SignatureVerifier
from twilio.request_validator import RequestValidator

from hookline.errors import VerificationError
from hookline.signatures.base import Headers, SignedRequest
from tests.signatures.cases import scheme

NOW = time.time()
BODY = json.dumps({"id": "evt_1", "type": "invoice.paid"}).encode()
STRIPE_SECRET = "whsec_agreement"
SLACK_SECRET = "slack-agreement-secret"
GITHUB_SECRET = "github-agreement-secret"
TWILIO_TOKEN = "twilio-agreement-token"
URL = "https://hooks.example.com/webhooks/sms"

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Small edits a sender, a proxy or an attacker could make to a header's text.
_CHARS = "0123456789abcdefABCDEF=,;: \tv1t+/-_"
edit = st.one_of(
    st.tuples(st.just("insert"), st.integers(min_value=0), st.sampled_from(_CHARS)),
    st.tuples(st.just("replace"), st.integers(min_value=0), st.sampled_from(_CHARS)),
    st.tuples(st.just("swapcase"), st.integers(min_value=0), st.just("")),
    st.tuples(st.just("delete"), st.integers(min_value=0), st.just("")),
    st.tuples(st.just("upper"), st.just(0), st.just("")),
)
edits = st.lists(edit, min_size=1, max_size=3)


def mutate(text: str, changes: list[tuple[str, int, str]]) -> str:
    """The header value after the edits, as HTTP delivers it (no leading or trailing blanks)."""
    text = _mutate(text, changes).strip(" \t")
    note(f"mutated: {text!r}")
    return text


def _mutate(text: str, changes: list[tuple[str, int, str]]) -> str:
    for kind, position, char in changes:
        at = position % (len(text) + 1)
        if kind == "insert":
            text = text[:at] + char + text[at:]
        elif kind == "upper":
            text = text.upper()
        elif text and at < len(text):
            if kind == "replace":
                text = text[:at] + char + text[at + 1 :]
            elif kind == "swapcase":
                text = text[:at] + text[at].swapcase() + text[at + 1 :]
            elif kind == "delete":
                text = text[:at] + text[at + 1 :]
    return text


def accepts(case: str, secret: str, request: SignedRequest, now: float = NOW) -> bool:
    try:
        scheme(case, secret).verify(request, now)
    except VerificationError:
        return False
    return True


def agrees(hookline: bool, sdk: Callable[[], bool]) -> None:
    """hookline accepts only what the SDK accepts (the SDK may accept more: nothing signs that)."""
    note(f"hookline accepts: {hookline}")
    if hookline:
        assert sdk()


class _Clock(Clock):
    def now(self) -> float:
        return NOW


@PROPERTY
@given(changes=edits)
def test_stripe(changes: list[tuple[str, int, str]]) -> None:
    """A mutated Stripe-Signature that stripe.WebhookSignature.verify_header refuses is refused."""
    # Stripe's verifier reads the clock itself: sign and verify at this example's time,
    # not at import (a long suite would otherwise age the header past the tolerance).
    now = time.time()
    header = mutate(
        stripe.WebhookSignature.generate_signature_header(BODY.decode(), STRIPE_SECRET, int(now)),
        changes,
    )

    def sdk() -> bool:
        try:
            return bool(
                stripe.WebhookSignature.verify_header(
                    BODY.decode(), header, STRIPE_SECRET, tolerance=300
                )
            )
        except stripe.SignatureVerificationError:
            return False

    agrees(
        accepts(
            "stripe",
            STRIPE_SECRET,
            SignedRequest(body=BODY, headers=Headers({"Stripe-Signature": header})),
            now,
        ),
        sdk,
    )


@PROPERTY
@given(changes=edits, which=st.sampled_from(["signature", "timestamp"]))
def test_slack(changes: list[tuple[str, int, str]], which: str) -> None:
    """A mutated X-Slack-Signature or timestamp that SignatureVerifier.is_valid refuses is refused."""
    timestamp = str(int(NOW))
    signature = (
        SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=timestamp, body=BODY) or ""
    )
    if which == "signature":
        signature = mutate(signature, changes)
    else:
        timestamp = mutate(timestamp, changes)

    def sdk() -> bool:
        try:
            return SignatureVerifier(SLACK_SECRET, _Clock()).is_valid(BODY, timestamp, signature)
        except ValueError:  # int() of a mangled timestamp
            return False

    headers = Headers({"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature})
    agrees(accepts("slack", SLACK_SECRET, SignedRequest(body=BODY, headers=headers)), sdk)


@PROPERTY
@given(changes=edits)
def test_github(changes: list[tuple[str, int, str]]) -> None:
    """A mutated X-Hub-Signature-256 that GitHub's reference comparison refuses is refused."""
    expected = "sha256=" + hmac.new(GITHUB_SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    header = mutate(expected, changes)
    request = SignedRequest(body=BODY, headers=Headers({"X-Hub-Signature-256": header}))
    agrees(accepts("github", GITHUB_SECRET, request), lambda: hmac.compare_digest(expected, header))


@PROPERTY
@given(changes=edits, which=st.sampled_from(["signature", "body_hash"]))
def test_twilio(changes: list[tuple[str, int, str]], which: str) -> None:
    """A mutated X-Twilio-Signature or bodySHA256 that RequestValidator.validate refuses is refused."""
    validator = RequestValidator(TWILIO_TOKEN)
    body_hash = validator.compute_hash(BODY.decode())
    if which == "body_hash":
        body_hash = mutate(body_hash, changes)
    url = f"{URL}?bodySHA256={body_hash}"
    signature = validator.compute_signature(url, {})
    if which == "signature":
        signature = mutate(signature, changes)
    headers = Headers({"content-type": "application/json", "X-Twilio-Signature": signature})
    request = SignedRequest(body=BODY, headers=headers, url=url)
    agrees(
        accepts("twilio", TWILIO_TOKEN, request),
        lambda: validator.validate(url, BODY.decode(), signature),
    )
