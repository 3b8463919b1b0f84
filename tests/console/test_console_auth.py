"""The console refuses everything without the admin token, every action without its session's
CSRF token or from another site; the cookie is HttpOnly, SameSite=Strict, Secure over TLS."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from hookline.config.models import HooklineSettings
from hookline.console import auth
from tests.console.conftest import Running

PAGES = [
    "/console", "/console/events", "/console/events?q=x", "/console/events/hookline.events.billing/0/0",
    "/console/rejected", "/console/dlq", "/console/dlq/letter?dlq=x", "/console/breakers",
    "/console/sources", "/console/reconcile", "/console/reconcile?provider=twilio",
]  # fmt: skip
ACTIONS = ["/console/logout", "/console/dlq/replay", "/console/breakers/twilio/reset"]
ADMIN = [
    "/admin/overview",
    "/admin/events",
    "/admin/events/x",
    "/admin/rejected",
    "/admin/dlq/letters",
    "/admin/reconcile/open",
]


def _login(running: Running, client: httpx.Client) -> httpx.Client:
    answer = client.post(
        "/console/login", data={"token": running.token, "next": "/console/sources"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sources"
    return client


def _csrf(client: httpx.Client) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/breakers").text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("cookie", [None, "1.forged.0000", "abc"])
def test_every_page_and_action_refuses_without_a_session(
    running: Running, cookie: str | None
) -> None:
    """No cookie or a forged one: pages send to the login form, actions answer 403, /admin/* 401."""
    cookies = {auth.COOKIE: cookie} if cookie else {}
    with httpx.Client(base_url=running.base, cookies=cookies, timeout=30) as client:
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 303, path
            assert urlsplit(answer.headers["location"]).path == "/console/login", path
        for path in ACTIONS:
            answer = client.post(path, data={"csrf": "x", "letter": "x", "mode": "replay"})
            assert answer.status_code == 403, path
            assert "Log in first" in answer.text
        for path in ADMIN:
            assert client.get(path).status_code == 401, path
        assert client.post("/admin/dlq/replay", json={"all": True}).status_code == 401


def test_a_wrong_token_does_not_log_in(running: Running) -> None:
    """A wrong token in the form or the login link answers 401 and sets no cookie."""
    with httpx.Client(base_url=running.base, timeout=30) as client:
        form = client.post("/console/login", data={"token": running.token + "x"})
        link = client.get("/console/login", params={"token": "nope"})
    for answer in (form, link):
        assert answer.status_code == 401
        assert "set-cookie" not in answer.headers


def test_a_cross_site_form_post_is_refused(running: Running) -> None:
    """With a valid session, an action is refused from another site, without the CSRF token or
    with another session's; the same post from the console itself goes through."""
    with (
        httpx.Client(base_url=running.base, timeout=30) as client,
        httpx.Client(base_url=running.base, timeout=30) as other,
    ):
        _cross_site(running, _login(running, client), _login(running, other))


def _cross_site(running: Running, client: httpx.Client, other: httpx.Client) -> None:
    csrf, others = _csrf(client), _csrf(other)
    assert csrf != others
    reset = "/console/breakers/twilio/reset"
    refused = [
        client.post(reset, data={"csrf": csrf}, headers={"sec-fetch-site": "cross-site"}),
        client.post(reset, data={"csrf": csrf}, headers={"origin": "http://evil.example"}),
        client.post(reset, data={"name": "twilio"}),
        client.post(reset, data={"csrf": others}),
        client.post(reset, json={"csrf": csrf}),
        client.post("/console/login", data={"token": running.token},
                    headers={"sec-fetch-site": "cross-site"}),
    ]  # fmt: skip
    assert [r.status_code for r in refused] == [403, 403, 403, 403, 400, 403]
    allowed = client.post(reset, data={"csrf": csrf}, headers={"sec-fetch-site": "same-origin"})
    assert allowed.status_code in (303, 404)  # 404: no twilio breaker made yet in this process


def test_the_session_cookie_is_httponly_strict_and_carries_no_token(running: Running) -> None:
    """Over plain HTTP: HttpOnly, SameSite=Strict, scoped to /console, not Secure; never the token."""
    with httpx.Client(base_url=running.base, timeout=30) as client:
        answer = client.post("/console/login", data={"token": running.token})
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie
    assert running.token not in cookie


def _request(scheme: str, peer: str, headers: dict[str, str]) -> Request:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "scheme": scheme, "method": "POST", "path": "/console/login",
             "headers": raw, "client": (peer, 5000), "server": ("console", 443), "query_string": b""}  # fmt: skip
    return Request(scope)


@pytest.mark.parametrize(
    ("scheme", "peer", "headers", "secure"),
    [
        ("https", "203.0.113.9", {}, True),
        ("http", "10.0.0.2", {"x-forwarded-proto": "https"}, True),
        ("http", "198.51.100.7", {"x-forwarded-proto": "https"}, False),
        ("http", "10.0.0.2", {}, False),
    ],
)
def test_the_cookie_is_secure_over_tls_or_behind_a_trusted_proxy_saying_https(
    scheme: str, peer: str, headers: dict[str, str], secure: bool
) -> None:
    """Secure when the request came over TLS, or through a trusted proxy that says https."""
    settings = HooklineSettings.model_validate(
        {"admin_token": "a-token-for-tests-0123", "server": {"trusted_proxies": ["10.0.0.0/8"]}}
    )
    response = Response()
    auth.set_cookie(response, "v", _request(scheme, peer, headers), settings)
    assert ("Secure" in response.headers["set-cookie"]) is secure


def test_the_printed_login_link_logs_in_and_leaves_the_token_behind(running: Running) -> None:
    """`hookline run` prints a login link; following it sets the session and redirects to a
    URL without the token."""
    with httpx.Client(timeout=30) as client:
        answer = client.get(running.login_link)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert client.get(f"{running.base}/console/sources").status_code == 200
