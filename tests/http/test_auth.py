"""Authentication flows against a real token endpoint and API: OAuth2, basic, API key, form, signing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from typing import Any

import pytest

from hookline.errors import ProviderRejected, ProviderUnavailable
from hookline.http import ManualClock, verify_signature
from hookline.http.errors import AuthFailed
from tests.http.conftest import client_for, settings
from tests.http.fault_server import CLIENT_ID, CLIENT_SECRET, TOKEN_PATH, FaultServer, Step

PATH = "/api/things"


def oauth(base_url: str, **auth: Any) -> dict[str, Any]:
    return {
        "type": "oauth2_client_credentials",
        "token_url": f"{base_url}{TOKEN_PATH}",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "ebonding.read ebonding.write",
        **auth,
    }


async def test_client_credentials_token_is_fetched_once_and_reused(
    fault: FaultServer, base_url: str
) -> None:
    """The first call fetches a token with the client-credentials form; later calls reuse it."""
    fault.require_token = True
    async with client_for(settings(base_url, auth=oauth(base_url))) as client:
        for _ in range(3):
            await client.request("GET", "/things")
    assert len(fault.issued) == 1
    form = fault.seen(TOKEN_PATH)[0].form()
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "ebonding.read ebonding.write"
    assert {s.headers["authorization"] for s in fault.seen(PATH)} == {f"Bearer {fault.issued[0]}"}


async def test_concurrent_calls_share_one_token_fetch(fault: FaultServer, base_url: str) -> None:
    """Fifty concurrent first calls cause exactly one token issuance (single flight)."""
    fault.require_token = True
    fault.token_delay = 0.2
    async with client_for(settings(base_url, auth=oauth(base_url))) as client:
        responses = await asyncio.gather(*(client.request("GET", "/things") for _ in range(50)))
    assert all(r.status_code == 200 for r in responses)
    assert len(fault.issued) == 1
    assert fault.hits(TOKEN_PATH) == 1


async def test_token_is_refreshed_before_it_expires(fault: FaultServer, base_url: str) -> None:
    """A short-lived token is replaced before expiry, so the API never sees an expired one."""
    fault.require_token = True
    fault.token_ttl = 1.2  # refresh buffer 300 s → capped at half the lifetime (0.6 s)
    async with client_for(settings(base_url, auth=oauth(base_url))) as client:
        await client.request("GET", "/things")
        await asyncio.sleep(0.7)
        await asyncio.gather(*(client.request("GET", "/things") for _ in range(20)))
    assert len(fault.issued) == 2  # one refresh for all twenty concurrent calls
    statuses = {s.headers["authorization"] for s in fault.seen(PATH)}
    assert statuses == {f"Bearer {t}" for t in fault.issued}
    assert fault.hits(PATH) == 21  # no 401 and no resend


async def test_refresh_buffer_is_applied(fault: FaultServer, base_url: str) -> None:
    """With expires_in 3600 and a 300 s buffer the token is reused until 3300 s, then refreshed."""
    fault.require_token = True
    clock = ManualClock()
    async with client_for(settings(base_url, auth=oauth(base_url)), clock=clock) as client:
        await client.request("GET", "/things")
        clock.advance(3299)
        await client.request("GET", "/things")
        assert len(fault.issued) == 1
        clock.advance(2)
        await client.request("GET", "/things")
    assert len(fault.issued) == 2


async def test_expired_token_rejected_by_api_is_refreshed_once(
    fault: FaultServer, base_url: str
) -> None:
    """Tokens the API rejects (401) are refreshed once and the request is resent, even under concurrency."""
    fault.require_token = True
    async with client_for(settings(base_url, auth=oauth(base_url))) as client:
        await client.request("GET", "/things")
        fault.revoke_tokens()  # the provider forgot every token (expired early)
        responses = await asyncio.gather(*(client.request("GET", "/things") for _ in range(10)))
    assert all(r.status_code == 200 for r in responses)
    assert len(fault.issued) == 2


async def test_401_once_then_ok(fault: FaultServer, base_url: str) -> None:
    """A single 401 triggers exactly one refresh and one resend."""
    fault.require_token = True
    async with client_for(settings(base_url, auth=oauth(base_url))) as client:
        await client.request("GET", "/things")
        fault.script(PATH, Step(401, json={"error": {"code": "UNAUTHORIZED"}}))
        response = await client.request("POST", "/things", json={"x": 1})
    assert response.status_code == 200
    assert len(fault.issued) == 2
    assert fault.hits(PATH) == 3
    resent = fault.seen(PATH)[-1]
    assert resent.headers["authorization"] == f"Bearer {fault.issued[1]}"
    assert resent.body == b'{"x":1}'


async def test_401_twice_is_an_auth_failure_not_a_loop(fault: FaultServer, base_url: str) -> None:
    """A second 401 after the refresh is a permanent AuthFailed, and counts for the breaker."""
    fault.script(PATH, Step(401), Step(401))
    async with client_for(settings(base_url, auth=oauth(base_url))) as client:
        with pytest.raises(AuthFailed):
            await client.request("GET", "/things")
        snapshot = await client.breaker.snapshot()
    assert fault.hits(PATH) == 2
    assert len(fault.issued) == 2
    assert snapshot.consecutive_failures == 1


async def test_token_endpoint_failures_are_retried(fault: FaultServer, base_url: str) -> None:
    """503 and 502 from the token endpoint are retried; the call then succeeds."""
    fault.script(TOKEN_PATH, Step(503), Step(502))
    async with client_for(settings(base_url, auth=oauth(base_url)), clock=ManualClock()) as client:
        response = await client.request("GET", "/things")
    assert response.status_code == 200
    assert fault.hits(TOKEN_PATH) == 3


async def test_token_endpoint_down_is_reported_clearly(fault: FaultServer, base_url: str) -> None:
    """A token endpoint that keeps failing gives ProviderUnavailable TOKEN_ENDPOINT_UNAVAILABLE, retried once per attempt budget."""
    fault.script(TOKEN_PATH, *[Step(503)] * 10)
    async with client_for(settings(base_url, auth=oauth(base_url)), clock=ManualClock()) as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.request("GET", "/things")
    assert caught.value.code == "TOKEN_ENDPOINT_UNAVAILABLE"
    assert "token endpoint" in str(caught.value)
    assert (
        fault.hits(TOKEN_PATH) == 3
    )  # not 3 × 3: the call does not retry what the token source retried
    assert fault.hits(PATH) == 0


async def test_bad_client_secret_is_a_permanent_clear_error(
    fault: FaultServer, base_url: str
) -> None:
    """invalid_client from the token endpoint is ProviderRejected naming the OAuth error, not retried."""
    auth = oauth(base_url, client_secret="wrong-secret-123")
    async with client_for(settings(base_url, auth=auth)) as client:
        with pytest.raises(ProviderRejected) as caught:
            await client.request("GET", "/things")
    assert caught.value.code == "invalid_client"
    assert "refused the credentials" in str(caught.value)
    assert fault.hits(TOKEN_PATH) == 1
    assert fault.hits(PATH) == 0


async def test_refresh_token_grant_uses_rotated_refresh_token(
    fault: FaultServer, base_url: str
) -> None:
    """The refresh-token grant posts the refresh token and keeps a rotated one for the next refresh."""
    fault.require_token = True
    fault.rotate_refresh_token = True
    auth = {
        "type": "oauth2_refresh_token",
        "token_url": f"{base_url}{TOKEN_PATH}",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": "rt-initial",
    }
    async with client_for(settings(base_url, auth=auth)) as client:
        await client.request("GET", "/things")
        fault.revoke_tokens()
        await client.request("GET", "/things")
    assert fault.refresh_tokens[0] == "rt-initial"
    assert fault.refresh_tokens[1].startswith("rt-") and fault.refresh_tokens[1] != "rt-initial"


async def test_basic_auth_header(fault: FaultServer, base_url: str) -> None:
    """Basic auth sends base64(username:password)."""
    auth = {"type": "basic", "username": "AC123", "password": "auth-token-xyz"}
    async with client_for(settings(base_url, auth=auth)) as client:
        await client.request("POST", "/things", data={"To": "+15005550006"})
    expected = "Basic " + base64.b64encode(b"AC123:auth-token-xyz").decode()
    assert fault.seen(PATH)[0].headers["authorization"] == expected


async def test_api_key_header(fault: FaultServer, base_url: str) -> None:
    """auth type api_key puts the key in the configured header (RIDB's apikey)."""
    auth = {"type": "api_key", "header": "apikey", "value": "ridb-key-123456"}
    async with client_for(settings(base_url, auth=auth)) as client:
        await client.request("GET", "/things")
    assert fault.seen(PATH)[0].headers["apikey"] == "ridb-key-123456"


async def test_form_credentials_in_post_body_and_get_query(
    fault: FaultServer, base_url: str
) -> None:
    """Form credentials join a form body (POST) or the query (GET), with per-provider field names."""
    auth = {
        "type": "form_credentials",
        "username": "e8d-user",
        "password": "e8d-pass-123",
        "username_field": "UID",
        "password_field": "PWD",
    }
    async with client_for(settings(base_url, auth=auth)) as client:
        await client.request("POST", "/things", data={"MSG": "héllo", "DEST": "+886912345678"})
        await client.request("GET", "/things", params={"BID": "b-1"})
    post, get = fault.seen(PATH)
    assert post.form() == {
        "MSG": "héllo",
        "DEST": "+886912345678",
        "UID": "e8d-user",
        "PWD": "e8d-pass-123",
    }
    assert int(post.headers["content-length"]) == len(post.body)
    assert get.query == {"BID": "b-1", "UID": "e8d-user", "PWD": "e8d-pass-123"}


def _expected_signature(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    # Written out from docs/providers/reservations.md#request-signing, independently of hookline.http.signing.
    message = f"{method}\n{path}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


async def test_oauth_with_api_key_and_signing(fault: FaultServer, base_url: str) -> None:
    """OpenTable style: bearer token, X-API-Key and an HMAC signature over method, path+query, timestamp, body."""
    secret = "ot-api-secret-abcdef"
    auth = oauth(
        base_url,
        api_key={"header": "X-API-Key", "value": "ot-key-123456"},
        signing={"enabled": True, "secret": secret},
    )
    fault.require_token = True
    async with client_for(settings(base_url, auth=auth)) as client:
        await client.request("POST", "/things", json={"party_size": 4})
        await client.request("GET", "/things", params={"date": "2025-03-01"})
    post, get = fault.seen(PATH)
    for seen, path in ((post, "/api/things"), (get, "/api/things?date=2025-03-01")):
        assert seen.headers["x-api-key"] == "ot-key-123456"
        assert seen.headers["authorization"].startswith("Bearer at-")
        timestamp = seen.headers["x-timestamp"]
        assert abs(int(timestamp) - time.time()) < 60  # now, in seconds; room for a loaded machine
        assert seen.headers["x-signature"] == _expected_signature(
            secret, seen.method, path, timestamp, seen.body
        )
        assert verify_signature(
            secret,
            seen.method,
            path,
            timestamp,
            seen.body,
            seen.headers["x-signature"],
            now=time.time(),
        )
    assert not verify_signature(
        secret,
        "POST",
        "/api/things",
        post.headers["x-timestamp"],
        b"{}",
        post.headers["x-signature"],
        now=time.time(),
    )


async def test_signature_is_recomputed_on_resend(fault: FaultServer, base_url: str) -> None:
    """After a 401 the resent request is signed again (new timestamp allowed) and still verifies."""
    secret = "sr-api-secret-abcdef"
    auth = oauth(base_url, signing={"enabled": True, "secret": secret})
    fault.script(PATH, Step(401))
    async with client_for(settings(base_url, auth=auth)) as client:
        await client.request("POST", "/things", json={"a": 1})
    for seen in fault.seen(PATH):
        assert verify_signature(
            secret,
            "POST",
            "/api/things",
            seen.headers["x-timestamp"],
            seen.body,
            seen.headers["x-signature"],
            now=time.time(),
        )


async def test_token_endpoint_retry_after_is_honoured(fault: FaultServer, base_url: str) -> None:
    """A 429 from the token endpoint waits its Retry-After before asking again."""
    fault.script(TOKEN_PATH, Step(429, headers={"Retry-After": "3"}))
    clock = ManualClock()
    async with client_for(settings(base_url, auth=oauth(base_url)), clock=clock) as client:
        await client.request("GET", "/things")
    assert clock.sleeps == [3.0]
    assert fault.hits(TOKEN_PATH) == 2
