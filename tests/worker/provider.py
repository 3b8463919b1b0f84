"""A stand-in provider: applies each ``Idempotency-Key`` once, like a real API honouring it.

It records, per key, the order in which effects arrived, how many ran at once,
and every repeated key (a repeat is answered like the first call, not applied).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Effects:
    applied: dict[str, dict[str, object]] = field(default_factory=dict)
    repeats: Counter[str] = field(default_factory=Counter)
    order: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    running: int = 0
    most_running: int = 0
    # Fail the next N calls per entity with 503 (transient), or always with 422.
    fail_transient: dict[str, int] = field(default_factory=dict)
    fail_permanent: set[str] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)

    @property
    def repeated_keys(self) -> int:
        return len(self.repeats)


def provider_app(effects: Effects) -> Starlette:
    async def effect(request: Request) -> JSONResponse:
        key = request.headers.get("idempotency-key")
        if not key:
            return JSONResponse({"error": "Idempotency-Key required"}, status_code=400)
        try:
            body = await request.json()
        except ClientDisconnect:  # the worker was killed mid-request: nothing arrived
            return JSONResponse({}, status_code=499)
        entity = str(body["entity"])
        effects.calls[entity] += 1
        if effects.fail_transient.get(entity, 0) > 0:
            effects.fail_transient[entity] -= 1
            return JSONResponse({"error": "try later"}, status_code=503)
        if entity in effects.fail_permanent:
            return JSONResponse({"error": "rejected"}, status_code=422)
        if key in effects.applied:
            effects.repeats[key] += 1
            return JSONResponse({"id": key, "replayed": True})
        effects.applied[key] = body
        effects.running += 1
        effects.most_running = max(effects.most_running, effects.running)
        try:
            delay = float(body.get("delay_ms", 0)) / 1000
            if delay:
                await asyncio.sleep(delay)
            effects.order[entity].append(int(body["seq"]))
        finally:
            effects.running -= 1
        return JSONResponse({"id": key}, status_code=201)

    return Starlette(routes=[Route("/effects", effect, methods=["POST"])])
