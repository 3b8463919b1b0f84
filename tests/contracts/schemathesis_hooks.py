"""Schemathesis hooks: every request to a webhook source is signed as its provider would sign it.

Loaded by the schemathesis CLI through ``SCHEMATHESIS_HOOKS``; the sources'
``verify`` options arrive as JSON in ``HOOKLINE_SCHEMATHESIS_SOURCES``. The
signature is made with hookline's own ``Scheme.sign`` over the bytes
``requests`` is about to send (a ``requests`` auth runs after the body is
serialized), so a schema-valid request reaches the adapter instead of
stopping at 401.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import requests
import schemathesis
from pydantic import TypeAdapter

from hookline.config.verify import VerifyConfig
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, Scheme, SignedRequest

SOURCES_VARIABLE = "HOOKLINE_SCHEMATHESIS_SOURCES"
_PREFIX = "/webhooks/"


class Signer(requests.auth.AuthBase):
    """Signs a prepared request with one source's scheme."""

    def __init__(self, scheme: Scheme) -> None:
        self.scheme = scheme

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else bytes(body)
        headers = Headers(request.headers.items())
        unsigned = SignedRequest(
            body=raw, headers=headers, url=str(request.url), method=str(request.method)
        )
        signed = self.scheme.sign(unsigned, time.time())
        for name, value in signed.headers.items():
            if headers.get(name) != value:
                request.headers[name] = value
        request.url = signed.url  # token-in-query and Twilio's bodySHA256 live in the URL
        return request


def _schemes() -> dict[str, Scheme]:
    adapter: TypeAdapter[Any] = TypeAdapter(VerifyConfig)
    options = json.loads(os.environ.get(SOURCES_VARIABLE, "{}"))
    return {name: build_scheme(adapter.validate_python(verify)) for name, verify in options.items()}


SCHEMES = _schemes()


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    path: str = case.operation.path
    if path.startswith(_PREFIX) and path[len(_PREFIX) :] in SCHEMES:
        kwargs["auth"] = Signer(SCHEMES[path[len(_PREFIX) :]])
