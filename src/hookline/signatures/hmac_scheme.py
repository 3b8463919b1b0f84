"""``hmac``: a provider's own HMAC header (algorithm, encoding, prefix, optional timestamp)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from hookline.config.verify import HmacVerify
from hookline.errors import VerificationError
from hookline.signatures.base import (
    MALFORMED,
    MISMATCH,
    Headers,
    SignedRequest,
    any_matches,
    check_timestamp,
    require,
)


class HmacScheme:
    name = "hmac"

    def __init__(self, options: HmacVerify) -> None:
        self.options = options
        self._digest = getattr(hashlib, options.algorithm)

    def _message(self, body: bytes, timestamp: str | None) -> bytes:
        return f"{timestamp}.".encode() + body if timestamp is not None else body

    def _mac(self, secret: str, message: bytes) -> bytes:
        return hmac.new(secret.encode(), message, self._digest).digest()

    def _decode(self, presented: str) -> bytes:
        if self.options.prefix:
            if not presented.startswith(self.options.prefix):
                raise VerificationError(MALFORMED, "signature prefix missing")
            presented = presented[len(self.options.prefix) :]
        try:
            if self.options.encoding == "hex":
                return bytes.fromhex(presented.strip())
            return base64.b64decode(presented.strip(), validate=True)
        except (ValueError, binascii.Error) as exc:
            raise VerificationError(MALFORMED, f"signature is not {self.options.encoding}") from exc

    def verify(self, request: SignedRequest, now: float) -> None:
        opts = self.options
        timestamp = None
        if opts.timestamp_header:
            timestamp = require(request.headers, opts.timestamp_header).strip()
            check_timestamp(timestamp, now, opts.tolerance_seconds)
        presented = self._decode(require(request.headers, opts.header))
        message = self._message(request.body, timestamp)
        expected = (self._mac(s.get(), message) for s in opts.secrets)
        if not any_matches(expected, [presented]):
            raise VerificationError(MISMATCH)

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        opts = self.options
        headers: dict[str, str] = {}
        timestamp = None
        if opts.timestamp_header:
            timestamp = str(int(now))
            headers[opts.timestamp_header] = timestamp
        mac = self._mac(opts.secrets[0].get(), self._message(request.body, timestamp))
        encoded = mac.hex() if opts.encoding == "hex" else base64.b64encode(mac).decode()
        headers[opts.header] = opts.prefix + encoded
        return request.with_headers(headers)


__all__ = ["Headers", "HmacScheme"]
