"""``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``.

GitHub's documented vector: secret ``It's a Secret to Everybody``, body
``Hello, World!`` → ``sha256=757107ea…3e17``. The legacy SHA-1
``X-Hub-Signature`` header is deliberately not accepted.
"""

from __future__ import annotations

import hashlib
import hmac

from hookline.config.verify import GithubVerify
from hookline.errors import VerificationError
from hookline.signatures.base import (
    MALFORMED,
    MISMATCH,
    SignedRequest,
    any_matches,
    decode_hex,
    require,
    secret_keys,
)

HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


class GithubScheme:
    name = "github"

    def __init__(self, options: GithubVerify) -> None:
        self.options = options
        self._keys = secret_keys(options.secrets)

    def verify(self, request: SignedRequest, now: float) -> None:
        presented = require(request.headers, HEADER).strip()
        if not presented.startswith(_PREFIX):
            raise VerificationError(MALFORMED, "signature lacks the sha256= prefix")
        signature = decode_hex(presented[len(_PREFIX) :])
        expected = [hmac.new(key, request.body, hashlib.sha256).digest() for key in self._keys]
        if not any_matches(expected, [signature]):
            raise VerificationError(MISMATCH)

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        mac = hmac.new(self._keys[0], request.body, hashlib.sha256).hexdigest()
        return request.with_headers({HEADER: _PREFIX + mac})
