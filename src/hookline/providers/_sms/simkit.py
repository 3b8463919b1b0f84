"""What the three SMS simulators share around their handsets (docs/providers/sms.md#simulated-handsets).

- :class:`SmsSimulator` — one gateway's simulator: the kit's :class:`Simulator`,
  the callback scheme (none without ``callback_secret``: the reports then go
  out unsigned and the ingress refuses them), a :class:`SmsWorld` that moves
  every message one step a tick and reports it, ``/_sim/sms/outcomes``, state
  and reset. A gateway subclasses it with its routes, its report callback and
  its ``/_sim/emit``.
- :func:`credentials_match`, :func:`request_fields`, :func:`ref_in`,
  :func:`state_named` — the small checks and parsers the gateways repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl

from starlette.requests import Request

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.providers._sms.sim_world import SimMessage, SmsWorld, Status
from hookline.sandbox import Callback, EmitRejected, EmitRequest, ProviderFormat, Simulator
from hookline.sandbox.layer import SimRoute, SimulatorLayer

__all__ = [
    "TOKEN_SIGNING",
    "SmsSimulator",
    "credentials_match",
    "ref_in",
    "request_fields",
    "state_named",
]

# Every8d and Mitake reports: the callback_secret as ``?token=`` (a hookline convention).
TOKEN_SIGNING: Mapping[str, Any] = {"scheme": "token", "query_param": "token"}


def credentials_match(presented: tuple[str, str], wanted: tuple[Any, Any]) -> bool:
    """A user and password as the simulators check them: the pinned pair, else any non-empty one."""
    user, password = presented
    if wanted[0] is None:
        return bool(user and password)
    return user == str(wanted[0]) and password == str(wanted[1])


async def request_fields(request: Request, charset: str = "utf-8") -> dict[str, str]:
    """The query's fields and, for a POST, the form body's over them (status calls take either)."""
    fields = dict(request.query_params)
    if request.method == "POST":
        raw = (await request.body()).decode(charset, errors="replace")
        fields.update(parse_qsl(raw, keep_blank_values=True))
    return fields


def ref_in(url: str | None) -> str | None:
    """hookline's message id, which the client puts in the report URL's query as ``ref``."""
    if not url:
        return None
    return dict(parse_qsl(url.partition("?")[2])).get("ref")


def state_named(event: str, codes: Mapping[str, str], what: str) -> Status:
    """The state an emit names, by the provider's code (``codes``: state → code) or by name."""
    state = {code: name for name, code in codes.items()}.get(event, event)
    if state not in codes:
        raise EmitRejected(400, f"unknown {what} {event!r}")
    return cast(Status, state)


class SmsSimulator:
    """One SMS gateway's simulator; subclasses add routes, the report callback and emit."""

    provider: ClassVar[str]
    source: ClassVar[str]  # the ingress source the reports go to
    fmt: ClassVar[ProviderFormat]
    signing: ClassVar[Mapping[str, Any]]
    noun: ClassVar[str] = "message"  # how /_sim/emit names an unknown entity

    def __init__(
        self, settings: HooklineSettings, sim_settings: SimulatorSettings, world: SmsWorld
    ) -> None:
        self.sim = Simulator(
            self.provider, sim_settings, fmt=self.fmt, source=self.source, sandbox=settings.sandbox
        )
        self.extras: dict[str, Any] = sim_settings.model_extra or {}
        self.world = world
        self.scheme = self.sim.signing_scheme(self.signing) if self.signs() else None

    def signs(self) -> bool:
        """Whether reports are signed: with a ``callback_secret``."""
        return self.sim.settings.callback_secret is not None

    # ---- what a gateway says -------------------------------------------------

    def add_routes(self) -> None:
        raise NotImplementedError

    def callback_for(self, message: SimMessage, state: Status) -> Callback | None:
        """The report of ``message`` reaching ``state``; ``None`` when it has nowhere to go."""
        raise NotImplementedError

    async def emit(self, order: EmitRequest) -> Callback:
        raise NotImplementedError

    # ---- shared --------------------------------------------------------------

    def message(self, entity_id: str) -> SimMessage:
        """The message ``/_sim/emit`` names, or its ``404``."""
        message = self.world.messages.get(entity_id)
        if message is None:
            raise EmitRejected(404, f"no {self.noun} {entity_id}")
        return message

    def report(self, message: SimMessage, state: Status) -> None:
        callback = self.callback_for(message, state)
        if callback is not None:
            self.sim.send(callback)

    async def tick(self) -> None:
        await self.world.advance(self.report)

    def state(self) -> dict[str, Any]:
        return self.world.state()

    def reset(self) -> None:
        self.world.reset()

    def build(self) -> SimulatorLayer:
        self.add_routes()
        self.sim.routes.extend(SimRoute(route) for route in self.world.admin_routes())
        self.sim.every_tick(self.tick)
        self.sim.on_state(self.state)
        self.sim.on_reset(self.reset)
        self.sim.on_emit(self.emit)
        return self.sim.build()
