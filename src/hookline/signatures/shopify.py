"""``shopify``: ``X-Shopify-Hmac-Sha256``, base64 HMAC-SHA256 of the raw body.

The key is the app's client secret (or the webhook signing secret shown in
the Shopify admin for shop-created webhooks). Shopify sends no timestamp in
the signed content, so replays are stopped by dedup, not by the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from hookline.config.verify import ShopifyVerify
from hookline.errors import VerificationError
from hookline.signatures.base import (
    MISMATCH,
    SignedRequest,
    any_matches,
    decode_base64,
    require,
    secret_keys,
)

HEADER = "X-Shopify-Hmac-Sha256"


class ShopifyScheme:
    name = "shopify"

    def __init__(self, options: ShopifyVerify) -> None:
        self.options = options
        self._keys = secret_keys(options.secrets)

    def verify(self, request: SignedRequest, now: float) -> None:
        signature = decode_base64(require(request.headers, HEADER))
        expected = [hmac.new(key, request.body, hashlib.sha256).digest() for key in self._keys]
        if not any_matches(expected, [signature]):
            raise VerificationError(MISMATCH)

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        mac = hmac.new(self._keys[0], request.body, hashlib.sha256).digest()
        return request.with_headers({HEADER: base64.b64encode(mac).decode()})
