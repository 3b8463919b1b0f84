"""The one call a provider's health probe makes (docs/providers/README.md#health-probes).

Each provider's client or platform defines ``async def health(self) -> bool``
with its cheapest authenticated read and calls :func:`probe_read`: a GET
through the provider's own :class:`~hookline.http.client.ApiClient` (its auth
flow fetches or refreshes the token first, its limits and breaker apply), never
answered from the GET cache, within ``providers.<name>.health.timeout_seconds``.
``health.path`` replaces the provider's own read with a plain GET that must
answer 2xx.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from hookline.errors import ProviderRejected

if TYPE_CHECKING:
    from hookline.http.client import ApiClient

__all__ = ["ProbeRefused", "probe_read"]


class ProbeRefused(ProviderRejected):
    """The probe's read was answered, but not with what a working account answers."""


def _any_answer(_: httpx.Response) -> bool:
    return True


async def probe_read(
    api: ApiClient,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    check: Callable[[httpx.Response], bool] = _any_answer,
    absent_ok: bool = False,
) -> bool:
    """GET ``path`` (or the configured ``health.path``); True when the answer passes ``check``.

    ``absent_ok``: a 404 business answer also passes, for an API whose only cheap
    reads take an id (Colt): the gateway accepted the token and the API answered.
    Failures raise the client's typed errors; the scheduler records them.
    """
    configured = api.settings.health
    if configured.path is not None:
        path, params, check, absent_ok = configured.path, None, _any_answer, False
    try:
        response = await api.request(
            "GET",
            path,
            endpoint="health",
            params=params,
            cache_ttl=0,  # a cached answer proves nothing about the provider now
            deadline=configured.timeout_seconds,
        )
    except ProviderRejected as exc:
        # Rejected (hookline.http.errors) keeps the status it was answered with.
        if absent_ok and getattr(exc, "status", None) == 404:
            return True
        raise
    if not check(response):
        raise ProbeRefused(
            f"{api.name} answered the health probe, but not as a working account does",
            code="PROBE_REFUSED",
        )
    return True
