"""A pre-issued OAuth access token (seed 004's *_OAUTH_TOKEN) instead of fetching one."""

from __future__ import annotations

import pytest

from hookline.errors import ProviderRejected
from tests.services.reservation.direct import direct

PRE_ISSUED = "at_preissued_by_opentable"


async def test_a_pre_issued_token_is_used_without_fetching_one() -> None:
    """auth.access_token on the refresh-token type: calls carry it and no token is fetched."""
    async with direct(
        "opentable",
        provider_overrides={"auth": {"access_token": PRE_ISSUED}},
        sim_overrides={"access_tokens": {PRE_ISSUED: "ot-client"}},
    ) as ot:
        assert await ot.client.search(cuisine_type="Italian")
        state = await ot.state()
    assert state["tokens"]["issued"] == 0


async def test_a_refused_pre_issued_token_is_replaced_through_the_grant() -> None:
    """A pre-issued token the API refuses (401) is replaced once by the refresh-token grant."""
    async with direct(
        "opentable", provider_overrides={"auth": {"access_token": "at_revoked"}}
    ) as ot:
        assert await ot.client.search()
        assert await ot.client.search()
        state = await ot.state()
    assert state["tokens"]["issued"] == 1


async def test_bearer_token_type_sends_only_the_pre_issued_token() -> None:
    """type bearer_token: no grant at all; a known token works, a refused one is a permanent 401."""
    auth = {
        "type": "bearer_token",
        "access_token": PRE_ISSUED,
        "token_url": None,
        "refresh_token": None,
    }
    async with direct(
        "opentable",
        provider_overrides={"auth": auth},
        sim_overrides={"access_tokens": {PRE_ISSUED: "ot-client"}},
    ) as ot:
        assert await ot.client.search()
        assert (await ot.state())["tokens"]["issued"] == 0
    revoked = {**auth, "access_token": "at_revoked"}
    async with direct("opentable", provider_overrides={"auth": revoked}) as ot:
        with pytest.raises(ProviderRejected) as caught:
            await ot.client.search()
    assert getattr(caught.value, "status", None) == 401
