"""``*.stale``: an entity hookline started whose final state never arrived, by callback or poll."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hookline.messages.base import MessageType

__all__ = ["MESSAGE_TYPES", "EntityStale"]


class EntityStale(BaseModel):
    """Still open after ``services.reconcile.give_up_after_seconds``; hookline stops asking."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(description="The provider the entity lives at.", examples=["twilio"])
    provider_entity_id: str = Field(
        description="The provider's id of the entity (message sid, order, session or reservation id).",
        examples=["SM1"],
    )
    last_status: str = Field(description="The last state hookline saw.", examples=["sent"])
    opened_at: str = Field(description="When hookline started tracking it (RFC 3339).")
    last_news_at: str = Field(description="When its last callback or poll answer came (RFC 3339).")
    checks: int = Field(ge=0, description="How many times the status API was asked.")


def _stale(type_: str, topic: str, key: str, what: str) -> MessageType:
    return MessageType(
        type_, EntityStale, "event", topic, key, f"{what} never reached a final state."
    )


MESSAGE_TYPES: tuple[MessageType, ...] = (
    _stale("sms.message.stale", "events.sms", "message id (= sms.send command id)", "An SMS"),
    _stale("colt.order.stale", "events.colt", "order id", "A Colt order"),
    _stale("charging.session.stale", "events.charging", "session id", "A charging session"),
    _stale(
        "reservation.booking.stale",
        "events.reservation",
        "reservation id",
        "An OpenTable or Recreation.gov booking",
    ),
)
