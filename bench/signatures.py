"""Per-scheme verification cost (µs per request) for 1 KiB and 100 KiB bodies.

Printed next to a bare ``hmac.compare_digest`` check of an HMAC-SHA256 over
the same body, measured in the same run, so the ratio says what each scheme
costs beyond the cryptography every verifier must do.

    .venv/bin/python bench/signatures.py [--seconds 0.3]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import TypeAdapter

from hookline.config.verify import VerifyConfig
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest

WHSEC = "whsec_" + base64.b64encode(os.urandom(32)).decode()
WHSK = "whsk_" + base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
OPTIONS: dict[str, dict[str, Any]] = {
    "standard-webhooks v1": {"scheme": "standard-webhooks", "secrets": [WHSEC]},
    "standard-webhooks v1a": {"scheme": "standard-webhooks", "secrets": [WHSK]},
    "stripe": {"scheme": "stripe", "secrets": ["whsec_bench"]},
    "github": {"scheme": "github", "secrets": ["bench"]},
    "twilio (json)": {"scheme": "twilio", "secrets": ["bench"]},
    "slack": {"scheme": "slack", "secrets": ["bench"]},
    "shopify": {"scheme": "shopify", "secrets": ["bench"]},
    "hmac sha256 hex": {"scheme": "hmac", "header": "X-Sig", "secrets": ["bench"]},
    "hmac sha512 b64 +ts": {
        "scheme": "hmac",
        "header": "X-Sig",
        "algorithm": "sha512",
        "encoding": "base64",
        "timestamp_header": "X-Ts",
        "secrets": ["bench"],
    },
    "token (query)": {"scheme": "token", "query_param": "token", "secrets": ["bench"]},
    "stripe, 3 secrets": {"scheme": "stripe", "secrets": ["whsec_a", "whsec_b", "whsec_bench"]},
}


def per_call_us(fn: Callable[[], object], seconds: float) -> float:
    """Median of five timed batches, µs per call."""
    batch = 1
    while True:  # size a batch to ~seconds/5
        started = time.perf_counter()
        for _ in range(batch):
            fn()
        if time.perf_counter() - started > seconds / 5 or batch > 1 << 20:
            break
        batch *= 2
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - started) / batch * 1e6)
    return sorted(samples)[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="time per measurement")
    args = parser.parse_args()
    adapter: TypeAdapter[Any] = TypeAdapter(VerifyConfig)
    now = time.time()
    sizes = {"1 KiB": 1024, "100 KiB": 100 * 1024}
    bodies = {name: json.dumps({"pad": "x" * (size - 11)}).encode() for name, size in sizes.items()}
    baseline: dict[str, float] = {}
    for name, body in bodies.items():
        key = b"bench"
        presented = hmac.new(key, body, hashlib.sha256).digest()
        baseline[name] = per_call_us(
            lambda body=body, presented=presented, key=key: hmac.compare_digest(
                hmac.new(key, body, hashlib.sha256).digest(), presented
            ),
            args.seconds,
        )
    header = f"{'scheme':<24}" + "".join(f"{n + ' µs':>14}{'× bare':>9}" for n in bodies)
    print(header)
    print(
        f"{'bare hmac+compare_digest':<24}"
        + "".join(f"{baseline[n]:>14.1f}{1.0:>9.2f}" for n in bodies)
    )
    for label, raw in OPTIONS.items():
        scheme = build_scheme(adapter.validate_python(raw))
        row = f"{label:<24}"
        for name, body in bodies.items():
            request = SignedRequest(
                body=body,
                headers=Headers({"content-type": "application/json"}),
                url="https://hooks.example.com/webhooks/bench",
            )
            signed = scheme.sign(request, now)
            scheme.verify(signed, now)  # a bench of a failing verify would measure the wrong path
            cost = per_call_us(
                lambda scheme=scheme, signed=signed: scheme.verify(signed, now), args.seconds
            )
            row += f"{cost:>14.1f}{cost / baseline[name]:>9.2f}"
        print(row)


if __name__ == "__main__":
    main()
