"""The HMAC check every ingress peer does: the same header, prefix and secret as hookline's bench source."""

from __future__ import annotations

import hashlib
import hmac
import os

SECRET = os.environ.get("BENCH_SECRET", "bench-secret-0123456789").encode()
HEADER = "x-bench-signature"
PREFIX = "sha256="
TOPIC = os.environ.get("BENCH_TOPIC", "bench.events.bench")
BOOTSTRAP = os.environ.get("BENCH_BOOTSTRAP", "127.0.0.1:9092")


def verified(signature: str | None, body: bytes) -> bool:
    if not signature or not signature.startswith(PREFIX):
        return False
    expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature[len(PREFIX) :], expected)
