"""The Colt eBonding sandbox: the real paths (``/auth/token``, ``/ebonding/v5/...``) on the kit.

Behaviour lives in :class:`~hookline.providers.colt.world.ColtWorld`; this module
serves it: OAuth2 tokens that expire, per-client rate windows with
``x-ratelimit-*`` headers on every answer, Colt's error format, ``Idempotency-Key``
replay on the create/submit routes (scoped to the OAuth client, so a worker that
restarts with a new token still gets its first answer back), the order
lifecycle every ``tick_ms`` with signed ``order.state_changed`` notifications,
``service.alert`` after usage reads of HOT / FLAKY services, and ``/_sim/emit``.

Colt-only admin route: ``POST /_sim/tokens/expire`` expires every issued token
now, so tests can watch a client recover from a ``401`` mid-workflow.

Two extras make the order submit ambiguous, as a production Colt could:
``ignore_idempotency_key: true`` treats every request as new (Colt does not
document honouring the key), and ``order_answer_delay_ms`` creates the order at
once but answers the submit that much later (past a client's timeout).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.providers.colt.world import ColtApiError, ColtWorld, Token
from hookline.sandbox import Callback, EmitRejected, EmitRequest, ProviderFormat, Simulator

__all__ = [
    "API",
    "COLT_FORMAT",
    "SIGNING",
    "TOKEN_PATH",
    "ColtSimulator",
    "build",
    "create_app",
    "render_error",
]

API = "/ebonding/v5"
TOKEN_PATH = "/auth/token"  # noqa: S105 - a URL path
DEFAULT_SCOPE = "ebonding.read ebonding.write"
SIGNING = {
    "scheme": "hmac",
    "header": "X-Colt-Signature",
    "algorithm": "sha256",
    "encoding": "hex",
    "prefix": "",
    "timestamp_header": "X-Colt-Timestamp",
}
_CODE_STATUS = {
    "INVALID_REQUEST": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "QUOTE_EXPIRED": 409,
    "QUOTE_ALREADY_ORDERED": 409,
    "ORDER_NOT_MODIFIABLE": 409,
    "ORDER_NOT_CANCELLABLE": 409,
    "RATE_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "BAD_GATEWAY": 502,
    "SERVICE_UNAVAILABLE": 503,
    "GATEWAY_TIMEOUT": 504,
}
_STATUS_CODE = {status: code for code, status in reversed(_CODE_STATUS.items())}
_SAMPLE = json.dumps(
    {
        "orderId": "ORD-100234",
        "overallStatus": "in_progress",
        "percentComplete": 50,
        "milestones": [],
    }
).encode()


def render_error(status: int | None, code: str | None) -> Response:
    """An injected fault in Colt's error format (docs/providers/colt.md#errors-and-retries)."""
    status = status or _CODE_STATUS.get(code or "", 500)
    code = code or _STATUS_CODE.get(status, "INTERNAL_ERROR")
    body = {"error": {"code": code, "message": code.replace("_", " ").capitalize(), "details": []}}
    return JSONResponse(body, status_code=status)


COLT_FORMAT = ProviderFormat(
    content_type="application/json",
    sample=_SAMPLE,
    render_error=render_error,
    reset_header="x-ratelimit-reset",
)

Handler = Callable[[Request, Token], Awaitable[tuple[int, Any]]]


class ColtSimulator:
    """Colt's API on the kit: each handler answers ``(status, body)`` for a caller already let in."""

    def __init__(self, settings: HooklineSettings, sim_settings: SimulatorSettings) -> None:
        extras = sim_settings.model_extra or {}
        self.world = ColtWorld(token_ttl=sim_settings.token_ttl_seconds)
        self.rate_limit = int(extras.get("rate_limit_per_minute", 100))
        self.clients = {str(k): str(v) for k, v in (extras.get("clients") or {}).items()}
        self.ignore_key = bool(extras.get("ignore_idempotency_key", False))
        self.order_delay = float(extras.get("order_answer_delay_ms", 0)) / 1000
        self.sim = Simulator(
            "colt",
            sim_settings,
            fmt=COLT_FORMAT,
            source="colt",
            sandbox=settings.sandbox,
            credential=self.credential,
        )
        self.scheme = self.sim.signing_scheme(SIGNING)

    async def credential(self, request: Request) -> str:
        # Idempotency is scoped to the OAuth client, not the token: a restarted
        # worker holds a new token but must get its first order back. A request
        # that will be refused (bad token, over the rate limit) gets a scope of
        # its own, so its 401/429 is never replayed to a later, valid retry.
        token = self.world.bearer(request.headers.get("authorization", ""))
        if token is None or not self.world.would_allow(token.client_id, self.rate_limit):
            return f"refused:{uuid.uuid4()}"
        if self.ignore_key:
            return f"unkeyed:{uuid.uuid4()}"  # every request its own scope: the key means nothing
        return f"client:{token.client_id}"

    # ---- notifications --------------------------------------------------------

    def notify(self, note: dict[str, Any], entity: str) -> Callback:
        return Callback(
            entity=entity,
            event_id=note["eventId"],
            url=self.sim.callback_url,
            body=json.dumps(note, separators=(",", ":")).encode(),
            headers={"X-Colt-Event-Id": note["eventId"]},
            scheme=self.scheme,
            signature_header="X-Colt-Signature",
        )

    def send(self, note: dict[str, Any]) -> None:
        data = note["data"]
        self.sim.send(self.notify(note, str(data.get("orderId") or data.get("serviceId"))))

    async def advance(self) -> None:
        for note in self.world.advance():
            self.send(note)

    async def emit(self, order: EmitRequest) -> Callback:
        if order.event == "order.state_changed":
            return self.notify(self._order_note(order), order.entity_id)
        if order.event == "service.alert":
            data = {
                "serviceId": order.entity_id,
                "alertType": "utilization",
                "metric": "peakUtilizationPercent",
                "value": 95.0,
                "threshold": 90,
                **order.data,
            }
            return self.notify(self.world.notification("service.alert", data), order.entity_id)
        raise EmitRejected(
            400, f"unknown Colt event {order.event!r} (order.state_changed, service.alert)"
        )

    def _order_note(self, order: EmitRequest) -> dict[str, Any]:
        """A known order's next status change, or a made-up one for an id the simulator never saw."""
        known = self.world.orders.get(order.entity_id)
        if known is None:
            data = {
                "orderId": order.entity_id,
                "previousStatus": "acknowledged",
                "status": "in_progress",
                "percentComplete": 25,
                **order.data,
            }
            return self.world.notification("order.state_changed", data)
        note = self.world.next_change(known, order.data or None)
        if note is None:
            raise EmitRejected(409, f"order {order.entity_id} has no further step")
        return note

    # ---- endpoints ---------------------------------------------------------------

    def api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint behind the bearer token and the client's rate window."""

        async def endpoint(request: Request) -> Response:
            headers: dict[str, str] = {}
            try:
                token = self.world.authenticate(
                    request.headers.get("authorization"), request.method
                )
                allowed, headers = self.world.rate(token.client_id, self.rate_limit)
                if not allowed:
                    raise ColtApiError(429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded")
                status, body = await handler(request, token)
            except ColtApiError as exc:
                return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
            return JSONResponse(body, status_code=status, headers=headers)

        return endpoint

    async def token(self, request: Request) -> Response:
        # The token request is form-encoded; parsed here without python-multipart.
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        grant = str(form.get("grant_type", ""))
        client_id = str(form.get("client_id", ""))
        secret = str(form.get("client_secret", ""))
        scope = str(form.get("scope") or DEFAULT_SCOPE)
        if grant != "client_credentials":
            error = "unsupported_grant_type" if grant else "invalid_request"
            return JSONResponse({"error": error}, status_code=400)
        if not client_id or not secret or (self.clients and self.clients.get(client_id) != secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if not set(scope.split()) <= set(DEFAULT_SCOPE.split()):
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        answer = self.world.issue_token(client_id, scope)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    async def availability(self, request: Request, _: Token) -> tuple[int, Any]:
        return 200, self.world.check_availability(await _json(request))

    async def create_quote(self, request: Request, _: Token) -> tuple[int, Any]:
        return 201, self.world.create_quote(await _json(request))

    async def get_quote(self, request: Request, _: Token) -> tuple[int, Any]:
        return 200, self.world.get_quote(request.path_params["quote_id"])

    async def submit_order(self, request: Request, _: Token) -> tuple[int, Any]:
        answer, _order = self.world.submit_order(await _json(request))
        if self.order_delay:
            # The order exists now; only the answer is late (the client may have given up).
            await asyncio.sleep(self.order_delay)
        return 201, answer

    async def modify_order(self, request: Request, _: Token) -> tuple[int, Any]:
        return 200, self.world.modify_order(request.path_params["order_id"], await _json(request))

    async def cancel_order(self, request: Request, _: Token) -> tuple[int, Any]:
        raw = await request.body()
        answer, note = self.world.cancel_order(
            request.path_params["order_id"], await _json(request) if raw.strip() else {}
        )
        if note is not None:
            self.send(note)
        return 200, answer

    async def order_status(self, request: Request, _: Token) -> tuple[int, Any]:
        return 200, self.world.order_status(request.path_params["order_id"])

    async def service(self, request: Request, _: Token) -> tuple[int, Any]:
        return 200, self.world.service(request.path_params["service_id"])

    async def usage(self, request: Request, _: Token) -> tuple[int, Any]:
        body, alerts = self.world.usage(
            request.path_params["service_id"], dict(request.query_params)
        )
        for alert in alerts:
            self.send(alert)
        return 200, body

    async def expire_tokens(self, request: Request) -> Response:
        return JSONResponse({"expired": self.world.expire_tokens()})

    def state(self) -> dict[str, Any]:
        world = self.world
        tokens = {"issued": world.tokens_issued, "active": world.active_tokens()}
        return {"tokens": tokens, "entities": world.state()}

    def configure(self) -> Simulator:
        """Routes, ticker and hooks on the kit's :class:`Simulator`."""
        sim, api = self.sim, self.api
        sim.route(TOKEN_PATH, self.token, methods=["POST"])
        sim.route(
            f"{API}/availability/check", api(self.availability), methods=["POST"], idempotent=True
        )
        sim.route(f"{API}/quotes/create", api(self.create_quote), methods=["POST"], idempotent=True)
        sim.route(f"{API}/quotes/{{quote_id}}", api(self.get_quote))
        sim.route(f"{API}/orders/submit", api(self.submit_order), methods=["POST"], idempotent=True)
        sim.route(f"{API}/orders/{{order_id}}/status", api(self.order_status))
        sim.route(
            f"{API}/orders/{{order_id}}/modify",
            api(self.modify_order),
            methods=["POST"],
            idempotent=True,
        )
        sim.route(
            f"{API}/orders/{{order_id}}/cancel",
            api(self.cancel_order),
            methods=["POST"],
            idempotent=True,
        )
        sim.route(f"{API}/services/{{service_id}}", api(self.service))
        sim.route(f"{API}/usage/{{service_id}}", api(self.usage))
        sim.route("/_sim/tokens/expire", self.expire_tokens, methods=["POST"])
        sim.every_tick(self.advance)
        sim.on_emit(self.emit)
        sim.on_reset(self.world.reset)
        sim.on_state(self.state)
        return sim


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> Any:
    """The Colt simulator's ASGI app (the factory in the provider's spec)."""
    return build(settings, sim_settings).build()


def build(settings: HooklineSettings, sim_settings: SimulatorSettings) -> Simulator:
    """The configured :class:`Simulator`, before :meth:`~Simulator.build` makes it an app."""
    return ColtSimulator(settings, sim_settings).configure()


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise ColtApiError(
            400,
            "INVALID_REQUEST",
            "Body is not valid JSON",
            [{"field": "body", "issue": "invalid JSON"}],
        ) from exc
