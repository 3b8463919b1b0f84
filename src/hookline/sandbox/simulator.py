"""The builder every provider simulator starts from.

A provider's ``simulator.py`` creates one :class:`Simulator`, adds its routes
(marking the ones that honour ``Idempotency-Key``), registers hooks for
automatic progress, state, reset and emit, and returns :meth:`Simulator.build`::

    sim = Simulator("colt", sim_settings, fmt=COLT_FORMAT, source="colt",
                    sandbox=settings.sandbox, credential=client_of_token)
    sim.route("/ebonding/v5/orders/submit", submit, methods=["POST"], idempotent=True)
    sim.every_tick(advance_orders)          # every sim_settings.tick_ms
    sim.on_state(lambda: {"entities": {"orders": orders}})
    sim.on_reset(orders.clear)
    sim.on_emit(build_callback)              # EmitRequest → Callback
    return sim.build()

What the kit adds around the routes: request counting, fault injection,
idempotent replay (:mod:`hookline.sandbox.layer`), the ``/_sim`` admin API
(:mod:`hookline.sandbox.admin`), signed callbacks with retries and per-entity
order (:mod:`hookline.sandbox.callbacks`) and the ticker
(:mod:`hookline.sandbox.ticker`), all started and stopped by the app's lifespan.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.config.models import SandboxSettings, SimulatorSettings
from hookline.config.verify import VerifyConfig
from hookline.errors import ConfigError
from hookline.sandbox.admin import EmitRejected, EmitRequest, admin_routes
from hookline.sandbox.callbacks import RETRY_DELAYS, TIMEOUT_SECONDS, Callback, CallbackSender
from hookline.sandbox.faults import FaultBook
from hookline.sandbox.idempotency import IdempotencyStore
from hookline.sandbox.layer import (
    CredentialOf,
    ProviderFormat,
    RequestCounters,
    SimRoute,
    SimulatorLayer,
    authorization_credential,
)
from hookline.sandbox.ticker import Step, Ticker
from hookline.signatures import Scheme, build_scheme

Hook = Callable[[], Awaitable[None] | None]
StateHook = Callable[[], Mapping[str, Any]]
EmitHook = Callable[[EmitRequest], Awaitable[Callback]]
Endpoint = Callable[[Request], Awaitable[Response]]

_VERIFY = TypeAdapter(VerifyConfig)


async def _call(hook: Hook) -> None:
    result = hook()
    if inspect.isawaitable(result):
        await result


class Simulator:
    """One provider's simulator; configure it, then :meth:`build` the ASGI app."""

    def __init__(
        self,
        provider: str,
        settings: SimulatorSettings,
        *,
        fmt: ProviderFormat,
        source: str | None = None,
        sandbox: SandboxSettings | None = None,
        credential: CredentialOf = authorization_credential,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        callback_timeout: float = TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.provider = provider
        self.settings = settings
        self.fmt = fmt
        self.clock = clock
        self.credential = credential
        sandbox = sandbox or SandboxSettings()
        # docs/providers/simulators.md#callbacks: callback_url, else {ingress_url}/webhooks/{source}.
        self.callback_url = settings.callback_url or (
            f"{sandbox.ingress_url.rstrip('/')}/webhooks/{source or provider}"
        )
        self.faults = FaultBook()
        self.idempotency = IdempotencyStore()
        self.counters = RequestCounters()
        self.callbacks = CallbackSender(
            provider=provider, retry_delays=retry_delays, timeout=callback_timeout, clock=clock
        )
        self.routes: list[SimRoute] = []
        self.tickers: list[Ticker] = []
        self._state_hooks: list[StateHook] = []
        self._reset_hooks: list[Hook] = []
        self._startup_hooks: list[Hook] = []
        self._shutdown_hooks: list[Hook] = []
        self._emit: EmitHook | None = None
        self._admin_routes: list[Route] = []

    # ---- configuration ----------------------------------------------------

    def route(
        self,
        path: str,
        endpoint: Endpoint,
        methods: Iterable[str] = ("GET",),
        *,
        idempotent: bool = False,
        name: str | None = None,
    ) -> None:
        """Serve ``endpoint``; ``idempotent`` routes replay answers per ``Idempotency-Key``."""
        route = Route(path, endpoint, methods=list(methods), name=name)
        self.routes.append(SimRoute(route, idempotent))

    def admin_route(self, path: str, endpoint: Endpoint, methods: Iterable[str] = ("GET",)) -> None:
        """A provider-specific admin route (e.g. ``/_sim/sms/outcomes``): not counted, never faulted."""
        if not path.startswith("/_sim/"):
            raise ValueError("admin routes live under /_sim/")
        self._admin_routes.append(Route(path, endpoint, methods=list(methods)))

    def every_tick(self, step: Step, interval_ms: int | None = None) -> Ticker:
        """Run ``step`` every ``tick_ms`` (or ``interval_ms``) while the app runs."""
        interval = (interval_ms or self.settings.tick_ms) / 1000
        ticker = Ticker(step, interval, name=f"{self.provider}-{len(self.tickers)}")
        self.tickers.append(ticker)
        return ticker

    def on_state(self, hook: StateHook) -> None:
        """Extra keys for ``GET /_sim/state`` (``tokens``, ``entities``, …)."""
        self._state_hooks.append(hook)

    def on_reset(self, hook: Hook) -> None:
        """Clear the provider's own state (entities, tokens) on ``POST /_sim/reset``."""
        self._reset_hooks.append(hook)

    def on_startup(self, hook: Hook) -> None:
        self._startup_hooks.append(hook)

    def on_shutdown(self, hook: Hook) -> None:
        self._shutdown_hooks.append(hook)

    def on_emit(self, hook: EmitHook) -> None:
        """Build the callback for ``POST /_sim/emit``; raise :class:`EmitRejected` to refuse."""
        self._emit = hook

    def signing_scheme(
        self, options: Mapping[str, Any], default_secret: str | None = None
    ) -> Scheme:
        """The scheme the provider signs callbacks with, keyed by ``callback_secret``.

        ``options`` are the ``verify`` options of the matching ingress source
        without ``secrets`` (e.g. ``{"scheme": "hmac", "header": "X-Colt-Signature",
        "timestamp_header": "X-Colt-Timestamp"}``).
        """
        secret = self.settings.callback_secret
        if secret is not None:
            value = secret.get()
        elif default_secret is not None:
            value = default_secret
        else:
            raise ConfigError(f"sandbox.providers.{self.provider}.callback_secret is not set")
        return build_scheme(_VERIFY.validate_python({**options, "secrets": [value]}))

    # ---- what the admin API and providers call -------------------------------

    def send(self, callback: Callback) -> None:
        """Queue a callback (lifecycle progress); FIFO per ``callback.entity``."""
        self.callbacks.enqueue(callback)

    async def emit(self, order: EmitRequest) -> str:
        if self._emit is None:
            raise EmitRejected(404, f"the {self.provider} simulator sends no callbacks")
        callback = await self._emit(order)
        callback = replace(
            callback,
            duplicate=order.duplicate,
            bad_signature=order.bad_signature,
            delay_seconds=order.delay_ms / 1000,
        )
        self.callbacks.enqueue(callback)
        return callback.event_id

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "provider": self.provider,
            "requests": self.counters.as_json(),
            "faults": {
                "active": [f.as_json() for f in self.faults.active()],
                "applied": self.faults.applied,
            },
            "idempotency": self.idempotency.counters(),
            "callbacks": self.callbacks.counters(),
        }
        for hook in self._state_hooks:
            state.update(hook())
        return state

    async def reset(self) -> None:
        self.faults.clear()
        self.idempotency.clear()
        self.counters.clear()
        await self.callbacks.reset()
        for hook in self._reset_hooks:
            await _call(hook)

    # ---- the app ------------------------------------------------------------

    def build(self) -> SimulatorLayer:
        """The ASGI app: the kit's layer around a Starlette app with admin and provider routes."""

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            await self.callbacks.start()
            for hook in self._startup_hooks:
                await _call(hook)
            for ticker in self.tickers:
                ticker.start()
            try:
                yield
            finally:
                for ticker in self.tickers:
                    await ticker.stop()
                for hook in self._shutdown_hooks:
                    await _call(hook)
                await self.callbacks.close()

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            if request.url.path.startswith("/_sim/"):
                return Response(
                    f'{{"error": "{exc.detail}"}}',
                    status_code=exc.status_code,
                    media_type="application/json",
                )
            return self.fmt.render_error(exc.status_code, None)

        app = Starlette(
            routes=[*admin_routes(self), *self._admin_routes, *(r.route for r in self.routes)],
            exception_handlers={HTTPException: http_error},
            lifespan=lifespan,
        )
        layer = SimulatorLayer(
            app,
            routes=self.routes,
            faults=self.faults,
            idempotency=self.idempotency,
            counters=self.counters,
            fmt=self.fmt,
            credential=self.credential,
            clock=self.clock,
            provider=self.provider,
        )
        layer.simulator = self
        return layer
