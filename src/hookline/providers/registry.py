"""Every provider hookline knows: one line each."""

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
    stripe,
    twilio,
)
from hookline.providers.base import ProviderSpec
from hookline.providers.standard import StandardAdapter
from hookline.providers.standard import samples as standard_samples

PROVIDERS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec("standard", StandardAdapter(), standard_samples),
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
