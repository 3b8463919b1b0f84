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
"""

from __future__ import annotations

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
    "RATE_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "BAD_GATEWAY": 502,
    "SERVICE_UNAVAILABLE": 503,
    "GATEWAY_TIMEOUT": 504,
}
_STATUS_CODE = {status: code for code, status in reversed(_CODE_STATUS.items())}
_SAMPLE = json.dumps(
    {"orderId": "ORD-100234", "overallStatus": "in_progress", "percentComplete": 50, "milestones": []}
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


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> Any:
    """The Colt simulator's ASGI app (the factory in ``sandbox.registry.SIMULATORS``)."""
    return build(settings, sim_settings).build()


def build(settings: HooklineSettings, sim_settings: SimulatorSettings) -> Simulator:
    extras = sim_settings.model_extra or {}
    world = ColtWorld(token_ttl=sim_settings.token_ttl_seconds)
    rate_limit = int(extras.get("rate_limit_per_minute", 100))
    clients: dict[str, str] = {str(k): str(v) for k, v in (extras.get("clients") or {}).items()}

    async def credential(request: Request) -> str:
        # Idempotency is scoped to the OAuth client, not the token: a restarted
        # worker holds a new token but must get its first order back. A request
        # that will be refused (bad token, over the rate limit) gets a scope of
        # its own, so its 401/429 is never replayed to a later, valid retry.
        token = _token(world, request)
        if token is None or not world.would_allow(token.client_id, rate_limit):
            return f"refused:{uuid.uuid4()}"
        return f"client:{token.client_id}"

    sim = Simulator(
        "colt",
        sim_settings,
        fmt=COLT_FORMAT,
        source="colt",
        sandbox=settings.sandbox,
        credential=credential,
    )
    scheme = sim.signing_scheme(SIGNING)

    def notify(note: dict[str, Any], entity: str) -> Callback:
        return Callback(
            entity=entity,
            event_id=note["eventId"],
            url=sim.callback_url,
            body=json.dumps(note, separators=(",", ":")).encode(),
            headers={"X-Colt-Event-Id": note["eventId"]},
            scheme=scheme,
            signature_header="X-Colt-Signature",
        )

    def send(note: dict[str, Any]) -> None:
        data = note["data"]
        sim.send(notify(note, str(data.get("orderId") or data.get("serviceId"))))

    def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            headers: dict[str, str] = {}
            try:
                token = world.authenticate(request.headers.get("authorization"), request.method)
                allowed, headers = world.rate(token.client_id, rate_limit)
                if not allowed:
                    raise ColtApiError(429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded")
                status, body = await handler(request, token)
            except ColtApiError as exc:
                return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
            return JSONResponse(body, status_code=status, headers=headers)

        return endpoint

    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except ValueError as exc:
            raise ColtApiError(400, "INVALID_REQUEST", "Body is not valid JSON",
                               [{"field": "body", "issue": "invalid JSON"}]) from exc

    async def token(request: Request) -> Response:
        # The token request is form-encoded; parsed here without python-multipart.
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        grant = str(form.get("grant_type", ""))
        client_id = str(form.get("client_id", ""))
        secret = str(form.get("client_secret", ""))
        scope = str(form.get("scope") or DEFAULT_SCOPE)
        if grant != "client_credentials":
            error = "unsupported_grant_type" if grant else "invalid_request"
            return JSONResponse({"error": error}, status_code=400)
        if not client_id or not secret or (clients and clients.get(client_id) != secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if not set(scope.split()) <= set(DEFAULT_SCOPE.split()):
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        return JSONResponse(world.issue_token(client_id, scope), headers={"Cache-Control": "no-store"})

    async def availability(request: Request, _: Token) -> tuple[int, Any]:
        return 200, world.check_availability(await json_body(request))

    async def create_quote(request: Request, _: Token) -> tuple[int, Any]:
        return 201, world.create_quote(await json_body(request))

    async def get_quote(request: Request, _: Token) -> tuple[int, Any]:
        return 200, world.get_quote(request.path_params["quote_id"])

    async def submit_order(request: Request, _: Token) -> tuple[int, Any]:
        answer, _order = world.submit_order(await json_body(request))
        return 201, answer

    async def order_status(request: Request, _: Token) -> tuple[int, Any]:
        return 200, world.order_status(request.path_params["order_id"])

    async def service(request: Request, _: Token) -> tuple[int, Any]:
        return 200, world.service(request.path_params["service_id"])

    async def usage(request: Request, _: Token) -> tuple[int, Any]:
        body, alerts = world.usage(request.path_params["service_id"], dict(request.query_params))
        for alert in alerts:
            send(alert)
        return 200, body

    async def expire_tokens(request: Request) -> Response:
        return JSONResponse({"expired": world.expire_tokens()})

    async def advance() -> None:
        for note in world.advance():
            send(note)

    async def emit(order: EmitRequest) -> Callback:
        if order.event == "order.state_changed":
            known = world.orders.get(order.entity_id)
            if known is not None:
                # The next status change: percent-only steps in between are taken silently.
                note = world.step(known, order.data or None)
                while note is None and known.plan:
                    note = world.step(known)
                if note is None:
                    raise EmitRejected(409, f"order {order.entity_id} has no further step")
            else:
                data = {"orderId": order.entity_id, "previousStatus": "acknowledged",
                        "status": "in_progress", "percentComplete": 25, **order.data}
                note = world.notification("order.state_changed", data)
            return notify(note, order.entity_id)
        if order.event == "service.alert":
            data = {"serviceId": order.entity_id, "alertType": "utilization",
                    "metric": "peakUtilizationPercent", "value": 95.0, "threshold": 90, **order.data}
            return notify(world.notification("service.alert", data), order.entity_id)
        raise EmitRejected(400, f"unknown Colt event {order.event!r} (order.state_changed, service.alert)")

    sim.route(TOKEN_PATH, token, methods=["POST"])
    sim.route(f"{API}/availability/check", api(availability), methods=["POST"], idempotent=True)
    sim.route(f"{API}/quotes/create", api(create_quote), methods=["POST"], idempotent=True)
    sim.route(f"{API}/quotes/{{quote_id}}", api(get_quote))
    sim.route(f"{API}/orders/submit", api(submit_order), methods=["POST"], idempotent=True)
    sim.route(f"{API}/orders/{{order_id}}/status", api(order_status))
    sim.route(f"{API}/services/{{service_id}}", api(service))
    sim.route(f"{API}/usage/{{service_id}}", api(usage))
    sim.route("/_sim/tokens/expire", expire_tokens, methods=["POST"])
    sim.every_tick(advance)
    sim.on_emit(emit)
    sim.on_reset(world.reset)
    sim.on_state(lambda: {
        "tokens": {"issued": world.tokens_issued, "active": world.active_tokens()},
        "entities": world.state(),
    })
    return sim


def _token(world: ColtWorld, request: Request) -> Token | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    token = world.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    if token is None or token.expires_at <= world.clock():
        return None
    return token
