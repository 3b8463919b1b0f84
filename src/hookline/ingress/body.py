"""Read a request body without ever holding more than the limit."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):
    pass


class BadContentLength(Exception):
    pass


async def read_limited(request: Request, limit: int, declared: str | None) -> bytes:
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
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(total)  # stop reading here; the rest is never buffered
        chunks.append(chunk)
    return b"".join(chunks)
