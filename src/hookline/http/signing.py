"""HMAC request signing (docs/providers/reservations.md#request-signing: HMAC-SHA256, timestamped).

``X-Timestamp`` is Unix seconds; ``X-Signature`` is the lowercase hex
``HMAC(secret, METHOD "\\n" path "\\n" timestamp "\\n" hex(sha256(body)))`` where
``path`` is the path as sent, base path and ``?query`` included. The same
functions verify, so the simulators check exactly what the client signs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Generator

import httpx

from hookline.config.secrets import Credential, current
from hookline.http.clock import SYSTEM_CLOCK, Clock


def canonical_string(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp}\n{digest}".encode()


def compute_signature(
    secret: str, method: str, path: str, timestamp: str, body: bytes, algorithm: str = "sha256"
) -> str:
    message = canonical_string(method, path, timestamp, body)
    return hmac.new(secret.encode(), message, algorithm).hexdigest()


def verify_signature(
    secret: str,
    method: str,
    path: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance: float = 300.0,
    algorithm: str = "sha256",
) -> bool:
    """True when the signature matches and the timestamp is within ``tolerance`` of ``now``."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    expected = compute_signature(secret, method, path, timestamp, body, algorithm)
    return hmac.compare_digest(expected, signature.strip().lower())


class HmacSigningAuth(httpx.Auth):
    """Adds the timestamp and signature headers; a resent request is signed afresh."""

    def __init__(
        self,
        secret: Credential,
        *,
        timestamp_header: str = "X-Timestamp",
        signature_header: str = "X-Signature",
        algorithm: str = "sha256",
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._secret = secret
        self.timestamp_header = timestamp_header
        self.signature_header = signature_header
        self.algorithm = algorithm
        self.clock = clock

    def apply(self, request: httpx.Request) -> httpx.Request:
        timestamp = str(int(self.clock.time()))
        path = request.url.raw_path.decode("ascii")
        request.headers[self.timestamp_header] = timestamp
        request.headers[self.signature_header] = compute_signature(
            current(self._secret), request.method, path, timestamp, request.content, self.algorithm
        )
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.apply(request)
