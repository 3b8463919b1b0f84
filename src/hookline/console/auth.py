"""The console's session: the admin token once at login, then a signed cookie and CSRF tokens.

The cookie holds ``issued.nonce.mac`` where ``mac`` is an HMAC of the first two
parts under the admin token: changing the token ends every session, and the
token itself never travels again after the login. Every form carries a CSRF
token, an HMAC of the session's nonce (bound to the session, unknowable to
another site); every action checks it and refuses a cross-site ``Origin``.
The cookie is ``HttpOnly``, ``SameSite=Strict``, and ``Secure`` when the
console is served over TLS (or behind a trusted proxy that says https).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from hookline.config.models import HooklineSettings, IPNetwork

COOKIE = "hookline_console"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    nonce: str
    csrf: str


def _mac(token: str, message: str) -> str:
    return hmac.new(token.encode(), message.encode(), hashlib.sha256).hexdigest()


def token_matches(settings: HooklineSettings, presented: str | None) -> bool:
    """Whether ``presented`` is the admin token (always False when none is configured)."""
    if settings.admin_token is None or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode(), settings.admin_token.get().encode())


def new_cookie(settings: HooklineSettings, now: float | None = None) -> str:
    assert settings.admin_token is not None
    issued = str(int(now if now is not None else time.time()))
    nonce = secrets.token_urlsafe(18)
    return f"{issued}.{nonce}.{_mac(settings.admin_token.get(), f'session:{issued}.{nonce}')}"


def session_of(
    settings: HooklineSettings, request: Request, now: float | None = None
) -> Session | None:
    """The request's valid session, or None (no token configured, no cookie, forged, expired)."""
    if settings.admin_token is None:
        return None
    issued, _, rest = request.cookies.get(COOKIE, "").partition(".")
    nonce, _, mac = rest.partition(".")
    if not (issued.isdigit() and nonce and mac):
        return None
    token = settings.admin_token.get()
    if not hmac.compare_digest(mac, _mac(token, f"session:{issued}.{nonce}")):
        return None
    if (now if now is not None else time.time()) - int(issued) > SESSION_SECONDS:
        return None
    return Session(nonce=nonce, csrf=_mac(token, f"csrf:{nonce}"))


def served_over_tls(request: Request, trusted_proxies: Sequence[IPNetwork]) -> bool:
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else None
    try:
        trusted = peer is not None and any(ip_address(peer) in net for net in trusted_proxies)
    except ValueError:
        trusted = False
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return trusted and proto == "https"


def set_cookie(
    response: Response, value: str, request: Request, settings: HooklineSettings
) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=served_over_tls(request, settings.server.trusted_proxies),
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    # Browsers say where a request comes from (Fetch Metadata); older ones only by Origin.
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser: the CSRF token still has to match
    return urlsplit(origin).netloc == request.headers.get("host", "")


def csrf_ok(session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session.csrf, str(presented))


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path inside the console."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console"
