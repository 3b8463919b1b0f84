"""Interoperability proven by the providers' own code: their signatures pass ours, ours pass theirs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import standardwebhooks
import stripe
from slack_sdk.signature import Clock, SignatureVerifier
from twilio.request_validator import RequestValidator

from hookline.errors import VerificationError
from hookline.signatures.base import Headers, SignedRequest
from tests.signatures.cases import WHSEC, scheme

NOW = time.time()
BODY = json.dumps({"id": "evt_1", "type": "invoice.paid", "data": {"amount": 4200}}).encode()


def rejects(case: str, request: SignedRequest, *secrets: str) -> bool:
    try:
        scheme(case, *secrets).verify(request, NOW)
    except VerificationError:
        return True
    return False


def flipped(body: bytes) -> bytes:
    return bytes([body[0] ^ 0x01]) + body[1:]


# --- Standard Webhooks (standardwebhooks 1.1.0) ---------------------------------


@pytest.mark.parametrize("prefix", ["webhook-", "svix-"])
def test_standardwebhooks_sdk_signature_verifies(prefix: str) -> None:
    """A signature made by the standardwebhooks library verifies, under webhook-* and svix-* names."""
    ts = int(NOW)
    signature = standardwebhooks.Webhook(WHSEC).sign(
        "msg_1", datetime.fromtimestamp(ts, UTC), BODY.decode()
    )
    headers = {
        f"{prefix}id": "msg_1",
        f"{prefix}timestamp": str(ts),
        f"{prefix}signature": signature,
    }
    good = SignedRequest(body=BODY, headers=Headers(headers))
    scheme("standard-webhooks").verify(good, NOW)
    assert rejects("standard-webhooks", SignedRequest(body=flipped(BODY), headers=Headers(headers)))


def test_our_standard_webhooks_signature_passes_the_sdk() -> None:
    """The standardwebhooks library accepts what our sign() produces."""
    signed = scheme("standard-webhooks").sign(
        SignedRequest(body=BODY, headers=Headers({"webhook-id": "msg_2"})), time.time()
    )
    assert standardwebhooks.Webhook(WHSEC).verify(signed.body, dict(signed.headers)) == json.loads(
        BODY
    )


def test_standard_webhooks_several_signatures_in_one_header() -> None:
    """Any valid entry among several (garbage, unknown versions, other keys) is enough."""
    ts = int(NOW)
    good = standardwebhooks.Webhook(WHSEC).sign(
        "msg_3", datetime.fromtimestamp(ts, UTC), BODY.decode()
    )
    other = standardwebhooks.Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).sign(
        "msg_3", datetime.fromtimestamp(ts, UTC), BODY.decode()
    )
    header = f"v1,!!notbase64 v2,abcd {other} {good}"
    request = SignedRequest(
        body=BODY,
        headers=Headers(
            {"webhook-id": "msg_3", "webhook-timestamp": str(ts), "webhook-signature": header}
        ),
    )
    scheme("standard-webhooks").verify(request, NOW)
    only_other = request.with_headers({"webhook-signature": other})
    assert rejects("standard-webhooks", only_other)


def test_standard_webhooks_ed25519_v1a() -> None:
    """v1a: signed with a whsk_ private key, verified with only the whpk_ public key; mutations fail."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    whsk = "whsk_" + base64.b64encode(raw_private).decode()
    whpk = "whpk_" + base64.b64encode(public).decode()
    signed = scheme("standard-webhooks", whsk).sign(
        SignedRequest(body=BODY, headers=Headers({"webhook-id": "msg_4"})), NOW
    )
    assert signed.headers["webhook-signature"].startswith("v1a,")
    scheme("standard-webhooks", whpk).verify(signed, NOW)
    # the signature is a plain Ed25519 signature over "id.timestamp.body"
    content = f"msg_4.{signed.headers['webhook-timestamp']}.".encode() + BODY
    private.public_key().verify(base64.b64decode(signed.headers["webhook-signature"][4:]), content)
    assert rejects(
        "standard-webhooks", SignedRequest(body=flipped(BODY), headers=signed.headers), whpk
    )
    other = (
        "whpk_"
        + base64.b64encode(
            Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        ).decode()
    )
    assert rejects("standard-webhooks", signed, other)


def test_standard_webhooks_unpadded_secret_like_the_sdk() -> None:
    """An unpadded whsec_ secret (which the SDK accepts) is accepted too."""
    unpadded = "whsec_" + base64.b64encode(b"k" * 31).decode().rstrip("=")
    ts = int(NOW)
    signature = standardwebhooks.Webhook(unpadded).sign(
        "m", datetime.fromtimestamp(ts, UTC), BODY.decode()
    )
    scheme("standard-webhooks", unpadded).verify(
        SignedRequest(
            body=BODY,
            headers=Headers(
                {"webhook-id": "m", "webhook-timestamp": str(ts), "webhook-signature": signature}
            ),
        ),
        NOW,
    )


# --- Stripe (stripe 16.1.0) ------------------------------------------------------

STRIPE_SECRET = "whsec_stripe_test_secret"


def test_stripe_sdk_signature_verifies() -> None:
    """stripe.WebhookSignature.generate_signature_header output verifies; a flipped byte does not."""
    header = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), STRIPE_SECRET, int(NOW)
    )
    good = SignedRequest(body=BODY, headers=Headers({"Stripe-Signature": header}))
    scheme("stripe", STRIPE_SECRET).verify(good, NOW)
    assert rejects("stripe", SignedRequest(body=flipped(BODY), headers=good.headers), STRIPE_SECRET)


def test_our_stripe_signature_passes_the_sdk() -> None:
    """stripe's own verify_header and construct_event accept our sign()."""
    signed = scheme("stripe", STRIPE_SECRET).sign(SignedRequest(body=BODY), time.time())
    header = signed.headers["Stripe-Signature"]
    assert stripe.WebhookSignature.verify_header(
        BODY.decode(), header, STRIPE_SECRET, tolerance=300
    )
    event_body = json.dumps(
        {"id": "evt_9", "object": "event", "type": "charge.succeeded", "data": {"object": {}}}
    ).encode()
    signed = scheme("stripe", STRIPE_SECRET).sign(SignedRequest(body=event_body), time.time())
    event = stripe.Webhook.construct_event(
        event_body, signed.headers["Stripe-Signature"], STRIPE_SECRET
    )
    assert event.id == "evt_9"


def test_stripe_secret_roll_sends_two_v1_and_either_secret_verifies() -> None:
    """During a roll Stripe sends one v1 per secret; a receiver knowing only one of them accepts."""
    ts = int(NOW)
    old = stripe.WebhookSignature.generate_signature_header(BODY.decode(), "whsec_old", ts)
    new = stripe.WebhookSignature.generate_signature_header(BODY.decode(), "whsec_new", ts)
    header = f"{old},{new.split(',', 1)[1]},v0=deadbeef"
    request = SignedRequest(body=BODY, headers=Headers({"Stripe-Signature": header}))
    scheme("stripe", "whsec_old").verify(request, NOW)
    scheme("stripe", "whsec_new").verify(request, NOW)
    scheme("stripe", "whsec_other", "whsec_new").verify(request, NOW)
    assert rejects("stripe", request, "whsec_other")


# --- Twilio (twilio 9.13.0) ------------------------------------------------------

TWILIO_TOKEN = "12345abcdef-auth-token"
FORM = {
    "MessageSid": "SM1234",
    "MessageStatus": "delivered",
    "To": "+886912345678",
    "ErrorCode": "",
    "Body": "héllo & bye",
}


@pytest.mark.parametrize(
    ("signed_url", "seen_url"),
    [
        (
            "https://hooks.example.com/webhooks/sms-twilio?a=1",
            "https://hooks.example.com/webhooks/sms-twilio?a=1",
        ),
        (
            "https://hooks.example.com:443/webhooks/sms-twilio",
            "https://hooks.example.com/webhooks/sms-twilio",
        ),
        (
            "https://hooks.example.com/webhooks/sms-twilio",
            "https://hooks.example.com:443/webhooks/sms-twilio",
        ),
        (
            "http://hooks.example.com:8080/webhooks/sms-twilio?b=2&a=1",
            "http://hooks.example.com:8080/webhooks/sms-twilio?b=2&a=1",
        ),
    ],
)
def test_twilio_sdk_form_signature_verifies(signed_url: str, seen_url: str) -> None:
    """RequestValidator.compute_signature over URL + sorted form params verifies, with or without the port."""
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(signed_url, FORM)
    body = urlencode(FORM).encode()
    headers = Headers(
        {"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    )
    scheme("twilio", TWILIO_TOKEN).verify(
        SignedRequest(body=body, headers=headers, url=seen_url), NOW
    )
    tampered = urlencode({**FORM, "MessageStatus": "failed"}).encode()
    assert rejects(
        "twilio", SignedRequest(body=tampered, headers=headers, url=seen_url), TWILIO_TOKEN
    )
    assert rejects(
        "twilio", SignedRequest(body=body, headers=headers, url=seen_url + "&z=9"), TWILIO_TOKEN
    )


def test_twilio_sdk_json_body_signature_verifies() -> None:
    """JSON bodies: bodySHA256 in the URL plus the URL-only signature; a changed body fails the hash."""
    validator = RequestValidator(TWILIO_TOKEN)
    url = f"https://hooks.example.com/webhooks/sms-twilio?bodySHA256={validator.compute_hash(BODY.decode())}"
    signature = validator.compute_signature(url, {})
    headers = Headers({"content-type": "application/json", "X-Twilio-Signature": signature})
    scheme("twilio", TWILIO_TOKEN).verify(SignedRequest(body=BODY, headers=headers, url=url), NOW)
    assert rejects(
        "twilio", SignedRequest(body=flipped(BODY), headers=headers, url=url), TWILIO_TOKEN
    )


def test_twilio_sha256_shared_key_signature() -> None:
    """SharedKey webhooks (algorithm=HMAC_SHA256 in the settings header) verify; SHA-1 claims then fail."""
    validator = RequestValidator(TWILIO_TOKEN)
    url = "https://hooks.example.com/webhooks/sms-twilio"
    signature = validator.compute_signature(url, FORM, "HMAC_SHA256")
    settings = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    headers = Headers(
        {"X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": settings}
    )
    body = urlencode(FORM).encode()
    scheme("twilio", TWILIO_TOKEN).verify(SignedRequest(body=body, headers=headers, url=url), NOW)
    without_settings = Headers({"X-Twilio-Signature": signature})
    assert rejects(
        "twilio", SignedRequest(body=body, headers=without_settings, url=url), TWILIO_TOKEN
    )


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_our_twilio_signature_passes_the_sdk(content_type: str) -> None:
    """RequestValidator.validate accepts our sign(), form and JSON (the signed URL carries bodySHA256)."""
    body = urlencode(FORM).encode() if "form" in content_type else BODY
    request = SignedRequest(
        body=body,
        headers=Headers({"content-type": content_type}),
        url="https://hooks.example.com/webhooks/sms-twilio",
    )
    signed = scheme("twilio", TWILIO_TOKEN).sign(request, NOW)
    params: object = FORM if "form" in content_type else body.decode()
    assert RequestValidator(TWILIO_TOKEN).validate(
        signed.url, params, signed.headers["X-Twilio-Signature"]
    )
    assert ("bodySHA256=" in signed.url) == ("json" in content_type)
    scheme("twilio", TWILIO_TOKEN).verify(signed, NOW)


def test_twilio_repeated_form_names_follow_the_sdk() -> None:
    """Repeated parameter names: their values are sorted (and de-duplicated) as the SDK does."""

    class Multi(dict[str, list[str]]):
        def getall(self, name: str) -> list[str]:
            return self[name]

    url = "https://hooks.example.com/webhooks/sms-twilio"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        url, Multi({"b": ["2", "1", "2"], "a": ["z"]})
    )
    body = b"b=2&a=z&b=1&b=2"
    scheme("twilio", TWILIO_TOKEN).verify(
        SignedRequest(body=body, headers=Headers({"X-Twilio-Signature": signature}), url=url), NOW
    )


# --- Slack (slack_sdk 3.47.0) ----------------------------------------------------

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_slack_sdk_signature_verifies() -> None:
    """slack_sdk SignatureVerifier.generate_signature output verifies; tampering fails."""
    ts = str(int(NOW))
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=ts, body=BODY)
    assert signature is not None
    headers = Headers({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature})
    scheme("slack", SLACK_SECRET).verify(SignedRequest(body=BODY, headers=headers), NOW)
    assert rejects("slack", SignedRequest(body=flipped(BODY), headers=headers), SLACK_SECRET)
    moved = headers.merged({"X-Slack-Request-Timestamp": str(int(NOW) + 1)})
    assert rejects("slack", SignedRequest(body=BODY, headers=moved), SLACK_SECRET)


def test_our_slack_signature_passes_the_sdk() -> None:
    """SignatureVerifier.is_valid_request accepts our sign()."""
    signed = scheme("slack", SLACK_SECRET).sign(SignedRequest(body=BODY), NOW)
    assert SignatureVerifier(SLACK_SECRET, _FixedClock(NOW)).is_valid_request(
        signed.body, dict(signed.headers)
    )


# --- GitHub and Shopify: documented vectors ---------------------------------------


def test_github_documented_test_vector() -> None:
    """GitHub docs: secret "It's a Secret to Everybody", body "Hello, World!" → sha256=757107ea…3e17."""
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    gh = scheme("github", "It's a Secret to Everybody")
    assert (
        gh.sign(SignedRequest(body=b"Hello, World!"), NOW).headers["X-Hub-Signature-256"]
        == expected
    )
    gh.verify(
        SignedRequest(body=b"Hello, World!", headers=Headers({"X-Hub-Signature-256": expected})),
        NOW,
    )
    assert rejects(
        "github",
        SignedRequest(body=b"Hello, World?", headers=Headers({"X-Hub-Signature-256": expected})),
        "It's a Secret to Everybody",
    )


def test_shopify_published_test_vector() -> None:
    """A published X-Shopify-Hmac-Sha256 vector (base64 HMAC-SHA256 of the raw body) signs and verifies."""
    body = b'{"id":1234567890,"email":"customer@example.com","total_price":"123.45"}'
    expected = "QNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw="
    shop = scheme("shopify", "test-webhook-secret")
    assert shop.sign(SignedRequest(body=body), NOW).headers["X-Shopify-Hmac-Sha256"] == expected
    shop.verify(SignedRequest(body=body, headers=Headers({"X-Shopify-Hmac-Sha256": expected})), NOW)
    assert rejects(
        "shopify",
        SignedRequest(body=body + b" ", headers=Headers({"X-Shopify-Hmac-Sha256": expected})),
        "test-webhook-secret",
    )


# --- Exactly what each SDK refuses ------------------------------------------------


def _upper_hex(case: str) -> tuple[SignedRequest, bool]:
    """A delivery whose hex digest is upper-cased, and whether the provider's own verifier accepts it."""
    ts = int(NOW)
    if case == "stripe":
        header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), STRIPE_SECRET, ts)
        t, v1 = header.split(",")
        upper = f"{t},v1={v1.removeprefix('v1=').upper()}"
        try:
            sdk = bool(
                stripe.WebhookSignature.verify_header(
                    BODY.decode(), upper, STRIPE_SECRET, tolerance=300
                )
            )
        except stripe.SignatureVerificationError:
            sdk = False
        return SignedRequest(body=BODY, headers=Headers({"Stripe-Signature": upper})), sdk
    if case == "slack":
        signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=str(ts), body=BODY)
        assert signature is not None
        upper = "v0=" + signature.removeprefix("v0=").upper()
        sdk = SignatureVerifier(SLACK_SECRET, _FixedClock(NOW)).is_valid(BODY, str(ts), upper)
        headers = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": upper}
        return SignedRequest(body=BODY, headers=Headers(headers)), sdk
    # GitHub publishes reference code rather than an SDK: compare_digest over the header text.
    secret = "It's a Secret to Everybody"
    expected = "sha256=" + hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    upper = "sha256=" + expected.removeprefix("sha256=").upper()
    return SignedRequest(
        body=BODY, headers=Headers({"X-Hub-Signature-256": upper})
    ), hmac.compare_digest(expected, upper)


@pytest.mark.parametrize("case", ["stripe", "slack", "github"])
def test_upper_case_hex_is_refused_as_the_provider_refuses_it(case: str) -> None:
    """Stripe's and Slack's SDKs and GitHub's reference code compare hex text exactly: upper case fails there and here."""
    request, sdk_accepts = _upper_hex(case)
    assert not sdk_accepts
    secret = {
        "stripe": STRIPE_SECRET,
        "slack": SLACK_SECRET,
        "github": "It's a Secret to Everybody",
    }[case]
    assert rejects(case, request, secret)


def test_generic_hmac_takes_either_hex_case() -> None:
    """The generic hmac scheme has no SDK to follow and providers differ in case: both are taken."""
    signed = scheme("hmac").sign(SignedRequest(body=BODY), NOW)
    header = signed.headers["X-Colt-Signature"]
    scheme("hmac").verify(signed.with_headers({"X-Colt-Signature": header.upper()}), NOW)


def test_twilio_get_callback_signed_by_the_sdk_verifies() -> None:
    """A callback configured for GET: the SDK signs the URL with its query, no body; a changed query fails both."""
    validator = RequestValidator(TWILIO_TOKEN)
    url = f"https://hooks.example.com/webhooks/sms-twilio?{urlencode(FORM)}"
    signature = validator.compute_signature(url, {})
    assert validator.validate(url, {}, signature)
    headers = Headers({"X-Twilio-Signature": signature})
    scheme("twilio", TWILIO_TOKEN).verify(
        SignedRequest(body=b"", headers=headers, url=url, method="GET"), NOW
    )
    changed = url.replace("delivered", "failed")
    assert not validator.validate(changed, {}, signature)
    assert rejects(
        "twilio", SignedRequest(body=b"", headers=headers, url=changed, method="GET"), TWILIO_TOKEN
    )


def test_twilio_body_hash_is_compared_as_the_sdk_compares_it() -> None:
    """bodySHA256 in upper case: RequestValidator refuses it (text comparison), and so does hookline."""
    validator = RequestValidator(TWILIO_TOKEN)
    url = f"https://hooks.example.com/webhooks/sms-twilio?bodySHA256={validator.compute_hash(BODY.decode()).upper()}"
    signature = validator.compute_signature(url, {})
    assert not validator.validate(url, BODY.decode(), signature)
    headers = Headers({"content-type": "application/json", "X-Twilio-Signature": signature})
    assert rejects("twilio", SignedRequest(body=BODY, headers=headers, url=url), TWILIO_TOKEN)


def test_twilio_form_with_a_body_hash_in_the_url_is_signed_over_its_fields() -> None:
    """A form body whose URL happens to carry bodySHA256: the SDK signs the fields, not the hash; so does hookline."""
    validator = RequestValidator(TWILIO_TOKEN)
    url = "https://hooks.example.com/webhooks/sms-twilio?bodySHA256=0000"
    signature = validator.compute_signature(url, FORM)
    assert validator.validate(url, FORM, signature)
    headers = Headers(
        {"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    )
    scheme("twilio", TWILIO_TOKEN).verify(
        SignedRequest(body=urlencode(FORM).encode(), headers=headers, url=url), NOW
    )


def _non_canonical(b64: str) -> str:
    """The same bytes in another base64 spelling: the unused low bits of the last character set."""
    stripped = b64.rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(stripped[-1])
    other = stripped[:-1] + alphabet[last | 0b01] + b64[len(stripped) :]
    assert other != b64 and base64.b64decode(other) == base64.b64decode(b64)
    return other


def test_twilio_signature_in_another_base64_spelling_is_refused_as_the_sdk_refuses_it() -> None:
    """RequestValidator compares the base64 text: a non-canonical spelling of the right bytes fails there and here."""
    validator = RequestValidator(TWILIO_TOKEN)
    url = "https://hooks.example.com/webhooks/sms-twilio"
    other = _non_canonical(validator.compute_signature(url, FORM))
    assert not validator.validate(url, FORM, other)
    headers = Headers(
        {"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": other}
    )
    assert rejects(
        "twilio",
        SignedRequest(body=urlencode(FORM).encode(), headers=headers, url=url),
        TWILIO_TOKEN,
    )
