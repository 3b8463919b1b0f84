"""The ``sms.send`` command and the ``sms.message.*`` events (docs/providers/sms.md).

``message_id`` equals the command id; it is the subject and partition key of
every event about the message, so all attempts through all providers stay in
order on one partition.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hookline.messages.base import MessageType

ErrorClass = Literal[
    "invalid_recipient",
    "opted_out",
    "content",
    "provider",
    "transient",
    "unknown_outcome",
    "no_provider",
]
ProviderName = Literal["twilio", "every8d", "mitake"]

_EXAMPLE_ID = "7b0e2f6c-3f1a-4e55-9a0b-1c2d3e4f5a6b"


class SmsSend(BaseModel):
    """Arguments of ``sms.send``: send ``body`` (or a rendered ``template``) to ``to``."""

    model_config = ConfigDict(extra="forbid")

    command_id: str | None = Field(
        default=None,
        description="The command's CloudEvent id; filled from the envelope when absent.",
        examples=[_EXAMPLE_ID],
    )
    to: str = Field(description="Recipient in E.164.", examples=["+886912345678"])
    body: str | None = Field(
        default=None,
        min_length=1,
        max_length=1600,
        description="Message text; exactly one of body and template.",
        examples=["Your order shipped."],
    )
    template: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="A template under services.sms.templates; one of its variants is chosen "
        "by the message id against the variants' weights (the same variant on a redelivery).",
        examples=["welcome"],
    )
    variables: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        description="Values for the template's {{ name }} references (template only).",
        examples=[{"name": "Mei"}],
    )
    sender: str | None = Field(
        default=None,
        description="Twilio only: From number, alphanumeric id or MG… Messaging Service SID.",
        examples=["+15017122661"],
    )
    provider: ProviderName | None = Field(
        default=None,
        description="Preferred provider, tried first when eligible.",
        examples=["mitake"],
    )
    reference: str | None = Field(
        default=None,
        max_length=200,
        description="Free text for correlation, echoed on every event.",
        examples=["colt:ORD-100234"],
    )

    @model_validator(mode="after")
    def _body_or_template(self) -> SmsSend:
        if (self.body is None) == (self.template is None):
            raise ValueError("give exactly one of body and template")
        if self.variables and self.template is None:
            raise ValueError("variables are only used with a template")
        return self


class SmsMessageBase(BaseModel):
    """Fields every ``sms.message.*`` event carries."""

    message_id: str = Field(
        description="The logical message id (= the command id).", examples=[_EXAMPLE_ID]
    )
    command_id: str = Field(
        description="The sms.send command's CloudEvent id.", examples=[_EXAMPLE_ID]
    )
    provider: ProviderName = Field(description="Provider of this attempt.", examples=["every8d"])
    provider_message_id: str | None = Field(
        default=None,
        description="The provider's id (Twilio SID, Every8d batch id, Mitake msgid).",
        examples=["1010079522"],
    )
    to: str = Field(description="Recipient in E.164.", examples=["+886912345678"])
    attempt: int | None = Field(
        default=None,
        ge=1,
        description="1-based attempt number across providers; null on a delivery report "
        "the provider cannot number (each provider is tried at most once per message).",
        examples=[1],
    )
    reference: str | None = Field(
        default=None, description="The command's reference.", examples=["colt:ORD-100234"]
    )
    template: str | None = Field(
        default=None,
        description="The command's template; null for a plain body and on delivery reports, "
        "which stateless adapters normalize (the sms worker counts delivery per variant).",
        examples=["welcome"],
    )
    variant: str | None = Field(
        default=None,
        description="The template's variant this message was sent with (A/B testing).",
        examples=["a"],
    )


class SmsAccepted(SmsMessageBase):
    """A provider accepted the message (synchronous answer)."""

    provider_status: str = Field(
        description="Provider's own status word or code.", examples=["queued"]
    )
    segments: int = Field(ge=1, description="Billed segments.", examples=[1])
    cost: float | None = Field(
        default=None, description="Configured cost of this send.", examples=[0.8]
    )
    currency: str | None = Field(default=None, description="Currency of cost.", examples=["TWD"])


class SmsStatus(SmsMessageBase):
    """A delivery report: queued or sent (intermediate)."""

    provider_status: str = Field(
        description="Provider's own status word or code.", examples=["sent"]
    )


class SmsDelivered(SmsMessageBase):
    """The handset received the message."""

    provider_status: str = Field(
        examples=["delivered"], description="Provider's own status word or code."
    )
    delivered_at: datetime = Field(
        description="When the provider saw the delivery.", examples=["2025-03-01T10:15:04Z"]
    )


class SmsUndelivered(SmsMessageBase):
    """A failed delivery report; the SMS worker decides whether to fail over."""

    provider_status: str = Field(
        examples=["undelivered"], description="Provider's own status word or code."
    )
    error_code: str | None = Field(
        default=None, description="Provider error code.", examples=["30003"]
    )
    error_class: ErrorClass = Field(description="Why, in hookline's words.", examples=["transient"])
    failover_eligible: bool = Field(
        description="Whether another provider may be tried.", examples=[True]
    )


class SmsFailedOver(SmsMessageBase):
    """The message moves from one provider to the next (emitted before the new attempt)."""

    from_provider: ProviderName = Field(examples=["every8d"], description="Provider that failed.")
    to_provider: ProviderName = Field(examples=["mitake"], description="Provider tried next.")
    reason: str = Field(description="What went wrong, in words.", examples=["provider unavailable"])
    error_code: str | None = Field(
        default=None, examples=["503"], description="Provider error code."
    )
    error_class: ErrorClass = Field(examples=["transient"], description="Why, in hookline's words.")


class AttemptRecord(BaseModel):
    provider: ProviderName = Field(examples=["every8d"], description="Provider tried.")
    error_code: str | None = Field(default=None, examples=["503"], description="Its error code.")
    error_class: ErrorClass | None = Field(
        default=None, examples=["transient"], description="Its error class."
    )


class SmsFailed(SmsMessageBase):
    """Terminal: the message could not be delivered through any provider."""

    provider: ProviderName | None = Field(  # type: ignore[assignment]
        default=None, description="Last provider tried; null when none was.", examples=["twilio"]
    )
    error_code: str | None = Field(default=None, examples=["21211"], description="Last error code.")
    error_class: ErrorClass = Field(
        examples=["invalid_recipient"], description="Why, in hookline's words."
    )
    reason: str = Field(
        default="", description="Last error, in words.", examples=["invalid recipient"]
    )
    attempts: list[AttemptRecord] = Field(
        default_factory=list, description="Every attempt, in order."
    )


_KEY = "message id (= sms.send command id)"
MESSAGE_TYPES: tuple[MessageType, ...] = (
    MessageType(
        "sms.send", SmsSend, "command", "commands.sms", _KEY, "Send one SMS with failover."
    ),
    MessageType(
        "sms.message.accepted",
        SmsAccepted,
        "event",
        "events.sms",
        _KEY,
        "A provider accepted the message.",
    ),
    MessageType(
        "sms.message.queued",
        SmsStatus,
        "event",
        "events.sms",
        _KEY,
        "Delivery report: queued at the provider.",
    ),
    MessageType(
        "sms.message.sent",
        SmsStatus,
        "event",
        "events.sms",
        _KEY,
        "Delivery report: handed to the carrier.",
    ),
    MessageType(
        "sms.message.delivered",
        SmsDelivered,
        "event",
        "events.sms",
        _KEY,
        "Delivery report: on the handset.",
    ),
    MessageType(
        "sms.message.undelivered",
        SmsUndelivered,
        "event",
        "events.sms",
        _KEY,
        "Delivery report: failed (intermediate).",
    ),
    MessageType(
        "sms.message.failed_over",
        SmsFailedOver,
        "event",
        "events.sms",
        _KEY,
        "Switching to the next provider.",
    ),
    MessageType(
        "sms.message.failed",
        SmsFailed,
        "event",
        "events.sms",
        _KEY,
        "Terminal failure with every attempt.",
    ),
)
