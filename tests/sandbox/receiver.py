"""A scripted callback receiver: answers each request from a list, records what arrived."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Arrival:
    at: float
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers the n-th request with ``script[n]`` (the last entry repeats).

    An entry is a status, or (status, body), or ("sleep", seconds) to stall.
    """

    script: Sequence[int | tuple[int | str, bytes | float]] = (200,)
    arrivals: list[Arrival] = field(default_factory=list)

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            index = len(self.arrivals)
            self.arrivals.append(
                Arrival(
                    at=time.monotonic(),
                    method=request.method,
                    url=str(request.url),
                    headers=dict(request.headers),
                    body=await request.body(),
                )
            )
            step = self.script[min(index, len(self.script) - 1)]
            if isinstance(step, int):
                return Response(status_code=step)
            first, second = step
            if first == "sleep":
                assert isinstance(second, float)
                await asyncio.sleep(second)
                return Response(status_code=200)
            assert isinstance(first, int) and isinstance(second, bytes)
            return Response(second, status_code=first, media_type="text/plain")

        return Starlette(routes=[Route("/{path:path}", receive, methods=["GET", "POST"])])
