"""What a provider's status check answers the reconciler (docs/reconcile.md).

A provider with a status API gives its :class:`~hookline.providers.base.ProviderSpec`
a ``reconcile`` check: ``await check(client, entity)`` asks the provider (through
the client its spec builds, so the same auth, limits, breaker and retries apply)
and answers an :class:`Observation`: the provider's current status and the
webhook the provider would have sent for it. The reconciler runs that webhook
through the provider's own adapter, so the event carries exactly the id the
callback would have produced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Check", "Entity", "Observation"]


# Age buckets of open entities (seconds since they started), upper bounds: the worker's
# hookline_reconcile_open_entities{age} gauge and the console count with the same ones.
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("5m", 300.0),
    ("1h", 3600.0),
    ("1d", 86_400.0),
    ("older", float("inf")),
)


def age_bucket(age: float) -> str:
    return next(name for name, bound in AGE_BUCKETS if age <= bound)


@dataclass
class Entity:
    """Something hookline started and has not seen finish (an open entity)."""

    provider: str
    entity_id: str  # the provider's id: SMS message id, Colt order, session, reservation id
    kind: str  # "sms.message", "colt.order", "charging.session", "reservation.booking"
    subject: str  # hookline's subject: the message id, the order, session or reservation id
    status: str  # last known status, in the provider's words
    opened_at: float
    last_news_at: float
    context: dict[str, Any] = field(default_factory=dict)
    checks: int = 0
    # When the provider last answered that nothing changed (0: never asked).
    checked_at: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.entity_id}"


@dataclass(frozen=True)
class Observation:
    """The provider's answer: its status, whether final, and the webhook it stands for."""

    status: str
    final: bool
    # The webhook's parsed body and query, as the adapter reads them; None when no
    # webhook stands for this status (the entity is closed or updated, nothing published).
    payload: Any
    query: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/x-www-form-urlencoded"
    # The webhook's headers, where the adapter reads its event id from one (OpenTable).
    headers: dict[str, str] = field(default_factory=dict)
    # News although the status reads the same (a booking moved to another day).
    news: bool = False
    # Merged into the entity's context once handled (what the check compares next time).
    context: dict[str, Any] = field(default_factory=dict)


Check = Callable[[Any, Entity], Awaitable[Observation | None]]
