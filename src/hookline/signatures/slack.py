"""``slack``: ``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">``.

The timestamp is ``X-Slack-Request-Timestamp``; it is part of the signed
text and must be within the tolerance (Slack's SDK allows 5 minutes).
"""

from __future__ import annotations

import hashlib
import hmac

from hookline.config.verify import SlackVerify
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

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
_VERSION = "v0"


class SlackScheme:
    name = "slack"

    def __init__(self, options: SlackVerify) -> None:
        self.options = options
        self._keys = secret_keys(options.secrets)

    @staticmethod
    def _base(timestamp: str, body: bytes) -> bytes:
        return f"{_VERSION}:{timestamp}:".encode() + body

    def verify(self, request: SignedRequest, now: float) -> None:
        timestamp = require(request.headers, TIMESTAMP_HEADER).strip()
        presented = require(request.headers, SIGNATURE_HEADER).strip()
        check_timestamp(timestamp, now, self.options.tolerance_seconds)
        version, sep, value = presented.partition("=")
        if not sep or version != _VERSION:
            raise VerificationError(MALFORMED, "signature is not v0=<hex>")
        signature = decode_hex(value)
        base = self._base(timestamp, request.body)
        expected = [hmac.new(key, base, hashlib.sha256).digest() for key in self._keys]
        if not any_matches(expected, [signature]):
            raise VerificationError(MISMATCH)

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        timestamp = str(int(now))
        mac = hmac.new(self._keys[0], self._base(timestamp, request.body), hashlib.sha256)
        return request.with_headers(
            {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: f"{_VERSION}={mac.hexdigest()}"}
        )
