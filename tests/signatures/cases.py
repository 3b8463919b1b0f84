"""One configuration per scheme variant, shared by the signature test suites."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import TypeAdapter

from hookline.config.verify import VerifyConfig
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, Scheme, SignedRequest

WHSEC = "whsec_" + base64.b64encode(b"standard-webhooks-test-key-32b!!").decode()
PUBLIC_URL = "https://hooks.example.com/webhooks/src?x=1"

# name → (options without secrets, a valid secret, content type used to sign)
CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "standard-webhooks": ({"scheme": "standard-webhooks"}, WHSEC, "application/json"),
    "stripe": ({"scheme": "stripe"}, "whsec_stripe_test_secret", "application/json"),
    "github": ({"scheme": "github"}, "It's a Secret to Everybody", "application/json"),
    "twilio": ({"scheme": "twilio"}, "12345abcdef-auth-token", "application/json"),
    "slack": ({"scheme": "slack"}, "8f742231b10e8888abcd99yyyzzz85a5", "application/json"),
    "shopify": ({"scheme": "shopify"}, "shpss_client_secret", "application/json"),
    "hmac": ({"scheme": "hmac", "header": "X-Colt-Signature"}, "colt-secret", "application/json"),
    "hmac-ts-b64-sha512": (
        {
            "scheme": "hmac",
            "header": "X-Sig",
            "algorithm": "sha512",
            "encoding": "base64",
            "prefix": "sha512=",
            "timestamp_header": "X-Sig-Timestamp",
        },
        "another-secret",
        "application/json",
    ),
    "hmac-sha1": (
        {"scheme": "hmac", "header": "X-Sig", "algorithm": "sha1"},
        "sha1-secret",
        "application/json",
    ),
    "token-header": ({"scheme": "token", "header": "X-Token"}, "tok-123", "application/json"),
    "token-query": ({"scheme": "token", "query_param": "token"}, "tok-456", "application/json"),
}

TIMESTAMPED = {"standard-webhooks", "stripe", "slack", "hmac-ts-b64-sha512"}
# Schemes whose signature does not cover the body (a shared token proves only the sender).
BODY_UNSIGNED = {"token-header", "token-query"}

_adapter: TypeAdapter[Any] = TypeAdapter(VerifyConfig)


def options(case: str, *secrets: str, **extra: Any) -> Any:
    base, default, _ = CASES[case]
    return _adapter.validate_python({**base, "secrets": list(secrets or [default]), **extra})


def scheme(case: str, *secrets: str, **extra: Any) -> Scheme:
    return build_scheme(options(case, *secrets, **extra))


def request(case: str, body: bytes, url: str = PUBLIC_URL) -> SignedRequest:
    return SignedRequest(body=body, headers=Headers({"content-type": CASES[case][2]}), url=url)
