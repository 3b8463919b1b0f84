"""Read a request body without ever holding more than the limit."""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import Receive


class BodyTooLarge(Exception):
    pass


class BadContentLength(Exception):
    pass


async def read_limited(receive: Receive, limit: int, declared: str | None) -> bytes:
    """The body from ASGI ``receive``; raises ``ClientDisconnect`` as Starlette's stream does."""
    if declared is not None:
        try:
            size = int(declared)
        except ValueError as exc:
            raise BadContentLength(declared) from exc
        if size < 0:
            raise BadContentLength(declared)
        if size > limit:
            raise BodyTooLarge(size)
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        if chunk:
            total += len(chunk)
            if total > limit:
                raise BodyTooLarge(total)  # stop reading here; the rest is never buffered
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
