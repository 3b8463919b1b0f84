"""Outbound credentials from file: secrets rotate without a restart: the next call carries the new value."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hookline.config.models import ProviderSettings
from hookline.config.secrets import iter_secrets
from hookline.config.watch import SecretWatcher
from hookline.http.client import ApiClient
from tests.config.test_secret_watch import KubernetesSecretVolume
from tests.support.servers import serve


def _api() -> tuple[Starlette, list[str]]:
    secrets_seen: list[str] = []

    async def token(request: Request) -> JSONResponse:
        form = parse_qs((await request.body()).decode())  # no python-multipart here
        secret = form["client_secret"][0]
        secrets_seen.append(secret)
        return JSONResponse({"access_token": f"token-for-{secret}", "expires_in": 3600})

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "authorization": request.headers.get("authorization"),
                "api_key": request.headers.get("x-api-key"),
            }
        )

    routes = [Route("/token", token, methods=["POST"]), Route("/echo", echo, methods=["GET"])]
    return Starlette(routes=routes), secrets_seen


async def _until_seen(api: ApiClient, field: str, wanted: str) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while True:
        seen = (await api.request("GET", "/echo")).json()
        if seen[field] == wanted:
            return seen
        assert time.monotonic() < deadline, f"{field} is still {seen[field]!r}"
        await asyncio.sleep(0.05)


async def test_basic_password_api_key_and_oauth_client_secret_follow_their_files(
    tmp_path: Path,
) -> None:
    """A Secret volume update: basic auth, the API key header and the OAuth token fetch use the new values."""
    volume = KubernetesSecretVolume(tmp_path)
    volume.write(password="pw-1", key="key-1", client="cs-1")
    app, token_secrets = _api()
    async with serve(app) as url:
        basic = ProviderSettings.model_validate(
            {
                "base_url": url,
                "auth": {
                    "type": "basic",
                    "username": "user",
                    "password": volume.ref("password"),
                    "api_key": {"header": "X-Api-Key", "value": volume.ref("key")},
                },
            }
        )
        oauth = ProviderSettings.model_validate(
            {
                "base_url": url,
                "auth": {
                    "type": "oauth2_client_credentials",
                    "token_url": f"{url}/token",
                    "client_id": "cid",
                    "client_secret": volume.ref("client"),
                },
            }
        )
        secrets = [s for tree in (basic, oauth) for _, s in iter_secrets(tree)]
        for secret in secrets:
            secret.resolve()
        watcher = SecretWatcher(secrets, interval=0.1)
        watcher.start()
        basic_api, oauth_api = ApiClient("demo-basic", basic), ApiClient("demo-oauth", oauth)
        try:
            first = (await basic_api.request("GET", "/echo")).json()
            assert first == {"authorization": "Basic dXNlcjpwdy0x", "api_key": "key-1"}
            seen = (await oauth_api.request("GET", "/echo")).json()
            assert seen["authorization"] == "Bearer token-for-cs-1"

            volume.write(password="pw-2", key="key-2", client="cs-2")
            rotated = await _until_seen(basic_api, "authorization", "Basic dXNlcjpwdy0y")
            assert rotated["api_key"] == "key-2"
            # The cached token was fetched with the old client secret: a new one is fetched.
            await _until_seen(oauth_api, "authorization", "Bearer token-for-cs-2")
            assert token_secrets == ["cs-1", "cs-2"]
            assert oauth_api.tokens is not None and oauth_api.tokens.fetches == 2
        finally:
            await watcher.stop()
            await basic_api.aclose()
            await oauth_api.aclose()
