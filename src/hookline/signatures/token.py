"""``token``: a shared token in a header (``header:``) or a query parameter (``query_param:``).

For providers that sign nothing (Every8d, Mitake delivery reports): the URL
or header carries a secret. Compared in constant time against every
configured token; the body is not covered, so pair it with ``allow_ips``
where the provider publishes its addresses.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlunsplit

from hookline.config.verify import TokenVerify
from hookline.errors import VerificationError
from hookline.signatures.base import (
    MISMATCH,
    MISSING_TOKEN,
    SignedRequest,
    any_matches,
    secret_keys,
    split_url,
    utf8,
)


class TokenScheme:
    reads_url = True  # the signature / token is in the URL the provider called
    name = "token"

    def __init__(self, options: TokenVerify) -> None:
        self.options = options
        self._tokens = secret_keys(options.secrets)

    def _presented(self, request: SignedRequest) -> str | None:
        if self.options.header is not None:
            value = request.headers.get(self.options.header)
            if value is not None and self.options.header.lower() == "authorization":
                value = value.removeprefix("Bearer ")
            return value
        query = split_url(request.url).query
        values = [
            v for k, v in parse_qsl(query, keep_blank_values=True) if k == self.options.query_param
        ]
        return values[0] if len(values) == 1 else None

    def verify(self, request: SignedRequest, now: float) -> None:
        presented = self._presented(request)
        if not presented:
            raise VerificationError(MISSING_TOKEN)
        if not any_matches(self._tokens, [utf8(presented)]):
            raise VerificationError(MISMATCH)

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        token = self._tokens[0].decode()
        if self.options.header is not None:
            if self.options.header.lower() == "authorization":
                token = "Bearer " + token
            return request.with_headers({self.options.header: token})
        parts = split_url(request.url)
        pairs = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k != self.options.query_param
        ]
        pairs.append((str(self.options.query_param), token))
        url = urlunsplit(parts._replace(query=urlencode(pairs)))
        return SignedRequest(
            body=request.body, headers=request.headers, url=url, method=request.method
        )
