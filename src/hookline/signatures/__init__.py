"""Signature schemes, one module each behind :class:`~hookline.signatures.base.Scheme`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hookline.config.verify import VerifyConfig
from hookline.errors import ConfigError
from hookline.signatures.base import Headers, Scheme, SignedRequest
from hookline.signatures.github import GithubScheme
from hookline.signatures.hmac_scheme import HmacScheme
from hookline.signatures.none_scheme import NoneScheme
from hookline.signatures.shopify import ShopifyScheme
from hookline.signatures.slack import SlackScheme
from hookline.signatures.standard_webhooks import StandardWebhooksScheme
from hookline.signatures.stripe import StripeScheme
from hookline.signatures.token import TokenScheme
from hookline.signatures.twilio import TwilioScheme

# scheme name → factory from its options. One line per scheme.
SCHEMES: dict[str, Callable[[Any], Scheme]] = {
    "hmac": HmacScheme,
    "standard-webhooks": StandardWebhooksScheme,
    "stripe": StripeScheme,
    "github": GithubScheme,
    "twilio": TwilioScheme,
    "slack": SlackScheme,
    "shopify": ShopifyScheme,
    "token": TokenScheme,
    "none": NoneScheme,
}


def build_scheme(options: VerifyConfig) -> Scheme:
    """The scheme for one source's options; reads (resolves) its secrets now."""
    try:
        factory = SCHEMES[options.scheme]
    except KeyError as exc:
        raise ConfigError(f"signature scheme {options.scheme!r} is not implemented") from exc
    return factory(options)


__all__ = ["SCHEMES", "Headers", "Scheme", "SignedRequest", "build_scheme"]
