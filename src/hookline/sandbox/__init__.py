"""The sandbox simulator kit: what every provider simulator is built on.

See ``docs/sandbox.md`` for a walkthrough. The public names:

- :class:`Simulator` — the builder (routes, hooks, :meth:`~Simulator.build`);
- :class:`ProviderFormat` — a provider's content type, sample answer and error renderer;
- :class:`Callback`, :class:`CallbackSender` — signed callbacks, retried, FIFO per entity;
- :class:`EmitRequest`, :class:`EmitRejected` — ``POST /_sim/emit`` and how a hook refuses it;
- :class:`FaultSpec`, :class:`FaultBook` — fault injection (``POST /_sim/faults``);
- :class:`IdempotencyStore` — ``Idempotency-Key`` replay;
- :class:`Ticker` — automatic lifecycle progress every ``tick_ms``;

The kit knows no provider: the simulators themselves are listed by the
provider registry (:mod:`hookline.providers.simulators`).
"""

from __future__ import annotations

from hookline.sandbox.admin import EmitRejected, EmitRequest
from hookline.sandbox.callbacks import Callback, CallbackSender
from hookline.sandbox.faults import FaultBook, FaultSpec
from hookline.sandbox.idempotency import IdempotencyStore
from hookline.sandbox.layer import ProviderFormat, SimulatorLayer
from hookline.sandbox.simulator import Simulator
from hookline.sandbox.ticker import Ticker

__all__ = [
    "Callback",
    "CallbackSender",
    "EmitRejected",
    "EmitRequest",
    "FaultBook",
    "FaultSpec",
    "IdempotencyStore",
    "ProviderFormat",
    "Simulator",
    "SimulatorLayer",
    "Ticker",
]
