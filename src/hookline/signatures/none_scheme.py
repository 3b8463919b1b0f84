"""``none``: no signature; the source relies on ``allow_ips`` alone (config enforces that)."""

from __future__ import annotations

from hookline.config.verify import NoneVerify
from hookline.signatures.base import SignedRequest


class NoneScheme:
    name = "none"

    def __init__(self, options: NoneVerify) -> None:
        self.options = options

    def verify(self, request: SignedRequest, now: float) -> None:
        return None

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        return request
