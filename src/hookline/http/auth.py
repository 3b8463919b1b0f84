"""Authentication as httpx auth flows, built from a provider's ``auth`` settings.

One *primary* flow (OAuth2, basic, API key or form credentials) and then the
add-ons any type may carry (an extra ``api_key`` header, request ``signing``),
applied in that order to every request the primary flow sends, resends
included. Signing comes last because it covers the final body.

Credentials are read at each request, not once: a ``file:`` secret that
rotates (README.md#secrets) is used from the next request on, while a request
already sent keeps the value it was sent with.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Protocol
from urllib.parse import urlencode

import httpx

from hookline.config.models import AuthSettings
from hookline.config.secrets import Credential, Secret, current
from hookline.errors import ConfigError
from hookline.http.clock import SYSTEM_CLOCK, Clock
from hookline.http.oauth import (
    ClientCredentialsGrant,
    OAuth2Auth,
    RefreshTokenGrant,
    RefreshTokenStore,
    TokenSource,
)
from hookline.http.retry import RetryPolicy
from hookline.http.signing import HmacSigningAuth

_FORM = "application/x-www-form-urlencoded"


class RequestStep(Protocol):
    """A one-shot change to an outgoing request (a header, a form field, a signature)."""

    def apply(self, request: httpx.Request) -> httpx.Request: ...


class ApiKeyAuth(httpx.Auth):
    """A static key in a header (``X-API-Key``, RIDB's ``apikey``)."""

    def __init__(self, value: Credential, header: str = "X-API-Key") -> None:
        self.header = header
        self._value = value

    def apply(self, request: httpx.Request) -> httpx.Request:
        request.headers[self.header] = current(self._value)
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.apply(request)


class BearerTokenAuth(httpx.Auth):
    """A pre-issued OAuth access token and nothing to renew it with: a 401 stands."""

    def __init__(self, token: Credential) -> None:
        self._token = token

    def apply(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {current(self._token)}"
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.apply(request)


class BasicAuth(httpx.Auth):
    """HTTP basic authentication (Twilio: account SID and auth token)."""

    def __init__(self, username: Credential, password: Credential) -> None:
        self._username = username
        self._password = password

    def apply(self, request: httpx.Request) -> httpx.Request:
        raw = f"{current(self._username)}:{current(self._password)}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.apply(request)


class FormCredentialsAuth(httpx.Auth):
    """Username and password as form fields (Every8d ``UID``/``PWD``, Mitake ``username``/``password``).

    Appended to a form body; for a request without one (a GET) they go in the query.
    """

    def __init__(
        self,
        username: Credential,
        password: Credential,
        *,
        username_field: str = "username",
        password_field: str = "password",  # noqa: S107 - a field name
    ) -> None:
        self._fields = [(username_field, username), (password_field, password)]

    def apply(self, request: httpx.Request) -> httpx.Request:
        fields = [(name, current(value)) for name, value in self._fields]
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith(_FORM):
            request.url = request.url.copy_merge_params(dict(fields))
            return request
        body = request.content
        extra = urlencode(fields).encode()
        new_body = body + b"&" + extra if body else extra
        headers = [
            (k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"
        ]
        return httpx.Request(
            request.method,
            request.url,
            headers=headers,
            content=new_body,
            extensions=request.extensions,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.apply(request)


class AuthChain(httpx.Auth):
    """A primary flow (which may resend) followed by one-shot steps on every request it sends."""

    def __init__(self, primary: httpx.Auth | None, steps: Sequence[RequestStep] = ()) -> None:
        self.primary = primary
        self.steps = list(steps)

    def _decorate(self, request: httpx.Request) -> httpx.Request:
        for step in self.steps:
            request = step.apply(request)
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.primary is None:
            yield self._decorate(request)
            return
        flow = self.primary.sync_auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield self._decorate(outgoing)
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self.primary is None:
            yield self._decorate(request)
            return
        flow = self.primary.async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield self._decorate(outgoing)
                try:
                    outgoing = await flow.asend(response)
                except StopAsyncIteration:
                    return
        finally:
            await flow.aclose()


def _need(provider: str, settings: AuthSettings, field: str) -> Credential:
    """The field's value; a secret stays a :class:`Secret` so that a rotation reaches each request."""
    value = getattr(settings, field)
    if value is None:
        raise ConfigError(
            f"providers.{provider}.auth.{field} is required for auth type {settings.type}"
        )
    if isinstance(value, Secret):
        value.get()  # unreadable: fail now, at build time, not at the first call
        return value
    return str(value)


def _optional(value: Secret | None) -> str | None:
    return None if value is None else value.get()


def build_auth(
    provider: str,
    settings: AuthSettings | None,
    *,
    token_http: httpx.AsyncClient,
    policy: RetryPolicy,
    clock: Clock = SYSTEM_CLOCK,
    refresh_tokens: RefreshTokenStore | None = None,
) -> AuthChain | None:
    """The auth flow a provider's settings describe; secrets are resolved here.

    ``refresh_tokens`` keeps a rotated refresh token beyond this process.
    """
    if settings is None:
        return None
    primary: httpx.Auth
    if settings.type in ("oauth2_client_credentials", "oauth2_refresh_token"):
        token_url = current(_need(provider, settings, "token_url"))
        grant: ClientCredentialsGrant | RefreshTokenGrant
        if settings.type == "oauth2_client_credentials":
            grant = ClientCredentialsGrant(
                token_url,
                _need(provider, settings, "client_id"),
                _need(provider, settings, "client_secret"),
                settings.scope,
            )
        else:
            grant = RefreshTokenGrant(
                token_url,
                _need(provider, settings, "refresh_token"),
                settings.client_id,
                settings.client_secret,
                settings.scope,
                store=refresh_tokens,
                provider=provider,
            )
        primary = OAuth2Auth(
            TokenSource(
                provider,
                grant,
                http=token_http,
                policy=policy,
                refresh_buffer=settings.refresh_buffer_seconds,
                clock=clock,
                initial=_optional(settings.access_token),
            )
        )
    elif settings.type == "bearer_token":
        primary = BearerTokenAuth(_need(provider, settings, "access_token"))
    elif settings.type == "basic":
        primary = BasicAuth(
            _need(provider, settings, "username"), _need(provider, settings, "password")
        )
    elif settings.type == "api_key":
        primary = ApiKeyAuth(_need(provider, settings, "value"), settings.header or "X-API-Key")
    else:
        primary = FormCredentialsAuth(
            _need(provider, settings, "username"),
            _need(provider, settings, "password"),
            username_field=settings.username_field,
            password_field=settings.password_field,
        )
    steps: list[RequestStep] = []
    if settings.api_key is not None:
        settings.api_key.value.get()
        steps.append(ApiKeyAuth(settings.api_key.value, settings.api_key.header))
    if settings.signing is not None and settings.signing.enabled:
        signing = settings.signing
        signing.secret.get()  # unreadable: fail at build time
        steps.append(
            HmacSigningAuth(
                signing.secret,
                timestamp_header=signing.timestamp_header,
                signature_header=signing.signature_header,
                algorithm=signing.algorithm,
                clock=clock,
            )
        )
    return AuthChain(primary, steps)


def token_source(auth: httpx.Auth | None) -> TokenSource | None:
    """The OAuth2 token source inside an auth chain, if there is one."""
    primary = auth.primary if isinstance(auth, AuthChain) else auth
    return primary.tokens if isinstance(primary, OAuth2Auth) else None
