"""Request ids: taken from ``X-Request-ID`` or made, bound to every log line, echoed back."""

from __future__ import annotations

import re

from starlette.types import Message, Scope, Send

from hookline.observability.entropy import uuid4_hex

_VALID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
REQUEST_ID_HEADER = b"x-request-id"


def request_id_for(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, else a new random id."""
    for key, value in scope["headers"]:
        if key == REQUEST_ID_HEADER:
            incoming = value.decode("latin-1")
            return incoming if _VALID.match(incoming) else uuid4_hex()
    return uuid4_hex()


def echoing_request_id(send: Send, request_id: str) -> Send:
    """``send`` with the request id appended to the response's headers."""
    header = (REQUEST_ID_HEADER, request_id.encode())

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), header]
        await send(message)

    return send_with_id
