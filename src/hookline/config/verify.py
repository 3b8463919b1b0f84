"""Options of each signature scheme (README.md#configuration), one model per ``verify.scheme``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hookline.config.secrets import Secret

DEFAULT_TOLERANCE_SECONDS = 300


class _Verify(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    secrets: list[Secret] = Field(min_length=1)


class _Timestamped(_Verify):
    tolerance_seconds: int = Field(default=DEFAULT_TOLERANCE_SECONDS, ge=1)


class StandardWebhooksVerify(_Timestamped):
    """``whsec_`` HMAC secrets and/or ``whpk_`` Ed25519 public keys."""

    scheme: Literal["standard-webhooks"]


class StripeVerify(_Timestamped):
    scheme: Literal["stripe"]


class GithubVerify(_Verify):
    scheme: Literal["github"]


class TwilioVerify(_Verify):
    scheme: Literal["twilio"]


class SlackVerify(_Timestamped):
    scheme: Literal["slack"]


class ShopifyVerify(_Verify):
    scheme: Literal["shopify"]


class HmacVerify(_Timestamped):
    """A provider's own HMAC: header, algorithm, encoding, prefix, optional timestamp."""

    scheme: Literal["hmac"]
    header: str = Field(min_length=1)
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""
    timestamp_header: str | None = None


class TokenVerify(_Verify):
    """A shared token in a header or a query parameter (exactly one of them)."""

    scheme: Literal["token"]
    header: str | None = None
    query_param: str | None = None

    @model_validator(mode="after")
    def _one_place(self) -> TokenVerify:
        if (self.header is None) == (self.query_param is None):
            raise ValueError("token scheme needs exactly one of header or query_param")
        return self


class NoneVerify(BaseModel):
    """No signature at all; only allowed together with ``allow_ips``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: Literal["none"]


VerifyConfig = Annotated[
    StandardWebhooksVerify
    | StripeVerify
    | GithubVerify
    | TwilioVerify
    | SlackVerify
    | ShopifyVerify
    | HmacVerify
    | TokenVerify
    | NoneVerify,
    Field(discriminator="scheme"),
]

SCHEME_NAMES = (
    "standard-webhooks",
    "stripe",
    "github",
    "twilio",
    "slack",
    "shopify",
    "hmac",
    "token",
    "none",
)
