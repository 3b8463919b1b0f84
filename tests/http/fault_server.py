"""A scripted provider API for the HTTP stack's tests, served by real uvicorn.

Each test scripts answers per path (``server.script("/x", Step(503), Step(200))``):
scripted steps are used in order, then the path answers ``200 {"ok": true}``.
It records every request (arrival time, headers, body) and has an OAuth2 token
endpoint issuing short-lived opaque tokens that the API checks when
``require_token`` is set.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN_PATH = "/oauth/token"
CLIENT_ID = "client-abc"
CLIENT_SECRET = "client-secret-9f8e7d6c5b4a"


@dataclass
class Step:
    """One scripted answer."""

    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    client_port: int = 0  # which connection it came on

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class FaultServer:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.scripts: dict[str, deque[Step]] = defaultdict(deque)
        self.requests: list[Seen] = []
        self.require_token = False
        self.token_ttl = 3600.0
        self.reported_expires_in: float | None = None  # what the endpoint claims; None = the truth
        self.token_delay = 0.0
        self.tokens: dict[str, float] = {}  # token → monotonic expiry
        self.issued: list[str] = []
        self.refresh_tokens: list[str] = []  # refresh tokens presented, in order
        self.rotate_refresh_token = False

    def script(self, path: str, *steps: Step) -> None:
        self.scripts[path].extend(steps)

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def hits(self, path: str) -> int:
        return len(self.seen(path))

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    async def _scripted(self, path: str) -> Response | None:
        queue = self.scripts.get(path)
        if not queue:
            return None
        step = queue.popleft()
        if step.delay:
            await asyncio.sleep(step.delay)
        body = step.json if step.json is not None else {"status": step.status}
        return JSONResponse(body, status_code=step.status, headers=step.headers)

    async def _token(self, seen: Seen) -> Response:
        scripted = await self._scripted(TOKEN_PATH)
        if scripted is not None:
            return scripted
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        form = seen.form()
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        answer: dict[str, Any] = {}
        if form.get("grant_type") == "refresh_token":
            self.refresh_tokens.append(form.get("refresh_token", ""))
            if self.rotate_refresh_token:
                answer["refresh_token"] = f"rt-{secrets.token_hex(8)}"
        elif form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        token = f"at-{secrets.token_hex(16)}"
        self.tokens[token] = time.monotonic() + self.token_ttl
        self.issued.append(token)
        expires_in = (
            self.reported_expires_in if self.reported_expires_in is not None else self.token_ttl
        )
        answer.update({"access_token": token, "token_type": "Bearer", "expires_in": expires_in})
        return JSONResponse(answer)

    def _authorized(self, seen: Seen) -> bool:
        scheme, _, token = seen.headers.get("authorization", "").partition(" ")
        expiry = self.tokens.get(token)
        return scheme == "Bearer" and expiry is not None and time.monotonic() < expiry

    async def handle(self, request: Request) -> Response:
        seen = Seen(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            at=time.monotonic(),
            client_port=request.client.port if request.client else 0,
        )
        self.requests.append(seen)
        if seen.path == TOKEN_PATH:
            return await self._token(seen)
        if self.require_token and not self._authorized(seen):
            return JSONResponse(
                {"error": {"code": "UNAUTHORIZED", "message": "token expired or unknown"}},
                status_code=401,
            )
        scripted = await self._scripted(seen.path)
        if scripted is not None:
            return scripted
        return JSONResponse({"ok": True, "path": seen.path, "n": len(self.requests)})

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=methods)])
