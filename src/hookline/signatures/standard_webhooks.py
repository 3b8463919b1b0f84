"""``standard-webhooks``: the Standard Webhooks spec (also Svix's ``svix-*`` headers).

Signed content is ``"{id}.{timestamp}.{body}"``. ``v1`` is base64 HMAC-SHA256
keyed with the base64-decoded ``whsec_`` secret; ``v1a`` is base64 Ed25519
verified with a ``whpk_`` public key (a ``whsk_`` private key both signs and
verifies, for the simulators and tests). The header holds space-separated
``version,signature`` pairs; any one valid signature is enough.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from hookline.config.verify import StandardWebhooksVerify
from hookline.errors import ConfigError, VerificationError
from hookline.signatures.base import (
    MALFORMED,
    MISMATCH,
    MISSING_HEADER,
    SignedRequest,
    any_matches,
    check_timestamp,
    utf8,
)

_PREFIXES = ("webhook-", "svix-")
_MAX_SIGNATURES = 16  # a header is not a CPU budget (Ed25519 checks are not free)


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _secret_bytes(value: str) -> bytes:
    # The official libraries accept unpadded base64 secrets; so do we.
    return _b64(value + "=" * (-len(value) % 4))


class StandardWebhooksScheme:
    name = "standard-webhooks"

    def __init__(self, options: StandardWebhooksVerify) -> None:
        self.options = options
        self._hmac_keys: list[bytes] = []
        self._public_keys: list[Ed25519PublicKey] = []
        self._signing_key: Ed25519PrivateKey | None = None
        for secret in options.secrets:
            value = secret.get()
            try:
                if value.startswith("whpk_"):
                    key = _secret_bytes(value[5:])
                    self._public_keys.append(Ed25519PublicKey.from_public_bytes(key))
                elif value.startswith("whsk_"):
                    private = Ed25519PrivateKey.from_private_bytes(_secret_bytes(value[5:]))
                    self._signing_key = self._signing_key or private
                    self._public_keys.append(private.public_key())
                else:
                    key = _secret_bytes(value.removeprefix("whsec_"))
                    if not key:
                        raise ValueError("empty key")
                    self._hmac_keys.append(key)
            except (ValueError, binascii.Error) as exc:
                raise ConfigError(
                    f"standard-webhooks secret {secret.ref} is not a valid base64 key"
                ) from exc

    @staticmethod
    def _header(request: SignedRequest, suffix: str) -> str:
        for prefix in _PREFIXES:
            value = request.headers.get(prefix + suffix)
            if value:
                return value
        raise VerificationError(MISSING_HEADER, "webhook-" + suffix)

    def verify(self, request: SignedRequest, now: float) -> None:
        msg_id = self._header(request, "id")
        timestamp = self._header(request, "timestamp")
        signatures = self._header(request, "signature")
        check_timestamp(timestamp, now, self.options.tolerance_seconds)
        content = utf8(f"{msg_id}.{timestamp.strip()}.") + request.body
        v1: list[bytes] = []
        v1a: list[bytes] = []
        parts = signatures.split()
        if len(parts) > _MAX_SIGNATURES:
            raise VerificationError(MALFORMED, "too many signatures")
        for part in parts:
            version, _, value = part.partition(",")
            try:
                decoded = _b64(value)
            except (ValueError, binascii.Error):
                continue  # one malformed entry must not hide a valid one
            if version == "v1":
                v1.append(decoded)
            elif version == "v1a":
                v1a.append(decoded)
        if not v1 and not v1a:
            raise VerificationError(MALFORMED, "no v1 or v1a signature")
        expected = [hmac.new(key, content, hashlib.sha256).digest() for key in self._hmac_keys]
        ok = any_matches(expected, v1)
        for public in self._public_keys:
            for signature in v1a:
                try:
                    public.verify(signature, content)
                    ok = True
                except (InvalidSignature, ValueError):
                    pass
        if not ok:
            raise VerificationError(MISMATCH)

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        msg_id = (
            request.headers.get("webhook-id")
            or f"msg_{hashlib.sha256(request.body).hexdigest()[:24]}"
        )
        timestamp = str(int(now))
        content = f"{msg_id}.{timestamp}.".encode() + request.body
        if self._hmac_keys:
            mac = hmac.new(self._hmac_keys[0], content, hashlib.sha256).digest()
            signature = "v1," + base64.b64encode(mac).decode()
        elif self._signing_key is not None:
            signature = "v1a," + base64.b64encode(self._signing_key.sign(content)).decode()
        else:
            raise ConfigError("standard-webhooks signing needs a whsec_ or whsk_ secret")
        return request.with_headers(
            {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
        )
