"""The ASGI layer in front of a provider's routes: counting → faults → idempotency → handler.

It is the outermost callable of a simulator, so that it sees uvicorn's own
``receive`` (needed to drop a connection without an answer). Admin requests
(``/_sim/...``) and lifespan pass straight through.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookline.sandbox.callbacks import SERVING_TRACEPARENT
from hookline.sandbox.faults import Fault, FaultBook
from hookline.sandbox.idempotency import IdempotencyStore, StoredResponse

if TYPE_CHECKING:
    from hookline.sandbox.simulator import Simulator

log = structlog.get_logger("hookline.sandbox")

ADMIN_PREFIX = "/_sim/"
IDEMPOTENCY_HEADER = b"idempotency-key"
REPLAYED_HEADER = (b"Idempotent-Replayed", b"true")

# (status or None, error_code or None) → the answer in the provider's error format.
ErrorRenderer = Callable[[int | None, str | None], Response]
# The credential an idempotency key is scoped to (e.g. OAuth client, account SID).
CredentialOf = Callable[[Request], Awaitable[str]]


@dataclass(frozen=True)
class ProviderFormat:
    """How a provider's answers look, for injected faults.

    ``render_error`` gets the fault's ``status`` (may be None) and ``error_code``
    (may be None) and returns a complete answer in the provider's format; when
    the fault has a status it overrides the rendered one. ``sample`` is a typical
    full answer; a ``malformed`` fault sends its first half with ``content_type``.
    """

    content_type: str
    sample: bytes
    render_error: ErrorRenderer
    reset_header: str = "X-RateLimit-Reset"


@dataclass(frozen=True)
class SimRoute:
    """A provider route and whether it honours ``Idempotency-Key``."""

    route: Route
    idempotent: bool = False

    @property
    def template(self) -> str:
        return self.route.path


async def authorization_credential(request: Request) -> str:
    """Default scope: the whole Authorization header (one credential per token or login)."""
    return request.headers.get("authorization", "")


class RequestCounters:
    def __init__(self) -> None:
        self.total = 0
        self.by_route: Counter[str] = Counter()

    def count(self, key: str) -> None:
        self.total += 1
        self.by_route[key] += 1

    def clear(self) -> None:
        self.total = 0
        self.by_route.clear()

    def as_json(self) -> dict[str, Any]:
        return {"total": self.total, "by_route": dict(self.by_route)}


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the already read body once, then defers to the real one."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


async def _read_body(receive: Receive) -> bytes:
    """The whole body; :class:`ClientGone` when the client leaves half-way.

    A real API never acts on half a request: running the handler on a cut-off
    body would answer (and, for idempotent routes, store for replay) a 4xx that
    the client's retry with the same key would then get back.
    """
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class SimulatorLayer:
    """Wraps the simulator's Starlette app; see the module docstring for the order."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: list[SimRoute],
        faults: FaultBook,
        idempotency: IdempotencyStore,
        counters: RequestCounters,
        fmt: ProviderFormat,
        credential: CredentialOf,
        clock: Callable[[], float] = time.time,
        provider: str = "",
    ) -> None:
        self.app = app
        self.routes = routes
        self.faults = faults
        self.idempotency = idempotency
        self.counters = counters
        self.fmt = fmt
        self.credential = credential
        self.clock = clock
        self.provider = provider
        # The builder that made this layer, for tests and the CLI (state, drain).
        self.simulator: Simulator | None = None

    def match(self, scope: Scope) -> tuple[SimRoute | None, bool]:
        """The route for this request and whether it matched fully (method included)."""
        partial: SimRoute | None = None
        for sim_route in self.routes:
            match, _ = sim_route.route.matches(scope)
            if match is Match.FULL:
                return sim_route, True
            if match is Match.PARTIAL and partial is None:
                partial = sim_route
        return partial, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        serving = SERVING_TRACEPARENT.set(_header(scope, b"traceparent"))
        try:
            await self._serve(scope, receive, send)
        except ClientGone:
            log.info("sandbox.client_gone", provider=self.provider, path=scope["path"])
        finally:
            SERVING_TRACEPARENT.reset(serving)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        route, full = self.match(scope)
        self.counters.count(f"{method} {route.template if route else path}")

        fault = self.faults.take(method, path)
        if fault is not None:
            log.info("sandbox.fault_applied", provider=self.provider, fault=fault.id, path=path)
            if fault.spec.answers:
                if fault.spec.delay_ms:
                    await asyncio.sleep(fault.spec.delay_ms / 1000)
                await self._answer_fault(fault, scope, receive, send)
                return
            if fault.spec.delay_ms:
                # The request arrived in full; only the answer is late. Reading the body
                # first lets the handler act even when the client gave up meanwhile
                # (an ambiguous outcome: done at the provider, unknown to the client).
                body = await _read_body(receive)
                await asyncio.sleep(fault.spec.delay_ms / 1000)
                receive = _replaying(body, receive)
            send = self._adding_headers(send, self._fault_headers(fault))

        key = _header(scope, IDEMPOTENCY_HEADER)
        if route is not None and full and route.idempotent and key:
            await self._idempotent(route, key, scope, receive, send)
            return
        await self.app(scope, receive, send)

    # ---- faults -----------------------------------------------------------

    def _fault_headers(self, fault: Fault) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = []
        if fault.spec.retry_after is not None:
            headers.append((b"Retry-After", str(fault.spec.retry_after).encode()))
        if fault.spec.reset_in is not None:
            reset = int(self.clock()) + fault.spec.reset_in
            headers.append((self.fmt.reset_header.encode(), str(reset).encode()))
        return headers

    async def _answer_fault(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        spec = fault.spec
        if spec.disconnect:
            await _drop_connection(receive, send)
            return
        if spec.malformed:
            body = self.fmt.sample[: len(self.fmt.sample) // 2]
            response = Response(
                body, status_code=spec.status or 200, media_type=self.fmt.content_type
            )
        else:
            response = self.fmt.render_error(spec.status, spec.error_code)
            if spec.status is not None:
                response.status_code = spec.status
        response.raw_headers.extend(self._fault_headers(fault))
        await response(scope, receive, send)

    @staticmethod
    def _adding_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
        if not extra:
            return send

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return wrapped

    # ---- idempotency ------------------------------------------------------

    async def _idempotent(
        self, route: SimRoute, key: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        body = await _read_body(receive)
        credential = await self.credential(Request(scope, _replaying(body, receive)))
        claim = await self.idempotency.claim(
            (credential, scope["method"], route.template, key), body
        )
        if claim.replay is not None:
            log.info(
                "sandbox.idempotent_replay",
                provider=self.provider,
                route=route.template,
                mismatch=claim.mismatch,
            )
            stored = claim.replay
            await send(
                {
                    "type": "http.response.start",
                    "status": stored.status,
                    "headers": [*stored.headers, REPLAYED_HEADER],
                }
            )
            await send({"type": "http.response.body", "body": stored.body, "more_body": False})
            return

        start: Message | None = None
        chunks: list[bytes] = []
        complete = False

        async def capture(message: Message) -> None:
            nonlocal start, complete
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        stored_response: StoredResponse | None = None
        try:
            await self.app(scope, _replaying(body, receive), capture)
            if start is not None and complete:
                stored_response = StoredResponse(
                    status=int(start["status"]),
                    headers=[(bytes(k), bytes(v)) for k, v in start.get("headers", [])],
                    body=b"".join(chunks),
                )
        finally:
            self.idempotency.finish(claim, stored_response)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _drop_connection(receive: Receive, send: Send) -> None:
    """Close the socket without any answer (a provider that hangs up mid-request).

    ASGI has no message for this, so it reaches for the server's transport
    (uvicorn's request cycle is the owner of ``receive``). Without one, the
    request fails with an exception, which servers answer with a bare 500.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        log.warning("sandbox.disconnect_unsupported")
        raise ConnectionAbortedError("simulated disconnect")
    transport.abort()
    # Let the server notice the lost connection so it does not try to answer.
    async with asyncio.timeout(2):
        while (await receive())["type"] != "http.disconnect":
            pass
