"""``stripe``: ``Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]``.

Each ``v1`` is the hex HMAC-SHA256 of ``"{t}.{body}"`` keyed with the whole
``whsec_…`` string (not base64-decoded, unlike Standard Webhooks). During a
secret roll Stripe sends one ``v1`` per active secret; any match is enough.
Other schemes in the header (``v0`` test signatures) are ignored, as Stripe's
SDK does. Unlike the SDK, a timestamp too far in the future is refused too.
"""

from __future__ import annotations

import hashlib
import hmac

from hookline.config.verify import StripeVerify
from hookline.errors import VerificationError
from hookline.signatures.base import (
    MALFORMED,
    MISMATCH,
    SignedRequest,
    any_matches,
    check_timestamp,
    decode_hex,
    require,
    secret_keys,
)

HEADER = "Stripe-Signature"
_MAX_SIGNATURES = 16  # a header is not a CPU budget


class StripeScheme:
    name = "stripe"

    def __init__(self, options: StripeVerify) -> None:
        self.options = options
        self._keys = secret_keys(options.secrets)

    @staticmethod
    def _parse(header: str) -> tuple[str, list[str]]:
        timestamp: str | None = None
        signatures: list[str] = []
        # Items are not trimmed: Stripe's SDK ignores " v1=…" (its key is " v1").
        for item in header.split(","):
            key, sep, value = item.partition("=")
            if not sep:
                raise VerificationError(MALFORMED, "header item without '='")
            if key == "t":
                timestamp = timestamp or value
            elif key == "v1":
                signatures.append(value)
        if timestamp is None:
            raise VerificationError(MALFORMED, "no t= in Stripe-Signature")
        if not signatures:
            raise VerificationError(MALFORMED, "no v1= in Stripe-Signature")
        if len(signatures) > _MAX_SIGNATURES:
            raise VerificationError(MALFORMED, "too many signatures")
        return timestamp, signatures

    def verify(self, request: SignedRequest, now: float) -> None:
        timestamp, signatures = self._parse(require(request.headers, HEADER))
        ts = check_timestamp(timestamp, now, self.options.tolerance_seconds)
        presented = []
        for value in signatures:
            try:
                presented.append(decode_hex(value))
            except VerificationError:
                continue  # one garbled entry must not hide a valid one
        # Stripe's SDK signs "%d" % t, so a zero-padded t is signed without its zeros.
        signed = f"{ts}.".encode() + request.body
        expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in self._keys]
        if not any_matches(expected, presented):
            raise VerificationError(MISMATCH)

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        ts = int(now)
        mac = hmac.new(self._keys[0], f"{ts}.".encode() + request.body, hashlib.sha256)
        return request.with_headers({HEADER: f"t={ts},v1={mac.hexdigest()}"})
