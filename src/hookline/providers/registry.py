"""Every provider hookline knows: one line each.

Each line is a provider folder's ``SPEC`` (:class:`~hookline.providers.base.ProviderSpec`);
the ingress, ``hookline send``, the services and the sandbox all read this one list.
"""

from __future__ import annotations

from hookline.providers import (
    colt,
    every8d,
    github,
    mitake,
    opentable,
    recreation_gov,
    shell_recharge,
    shopify,
    slack,
    standard,
    stripe,
    twilio,
)
from hookline.providers.base import ProviderSpec

__all__ = ["PROVIDERS", "family", "get", "names"]

PROVIDERS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        standard.SPEC,
        twilio.SPEC,
        every8d.SPEC,
        mitake.SPEC,
        colt.SPEC,
        github.SPEC,
        stripe.SPEC,
        slack.SPEC,
        shopify.SPEC,
        opentable.SPEC,
        recreation_gov.SPEC,
        shell_recharge.SPEC,
    )
}


def get(name: str) -> ProviderSpec:
    return PROVIDERS[name]


def names() -> set[str]:
    return set(PROVIDERS)


def family(name: str) -> list[ProviderSpec]:
    """The registered providers whose client serves the ``name`` service, in registry order."""
    return [spec for spec in PROVIDERS.values() if spec.family == name]
