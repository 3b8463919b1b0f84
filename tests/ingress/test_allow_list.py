"""IP allow-list per source: X-Forwarded-For is believed only from server.trusted_proxies."""

from __future__ import annotations

import json
from ipaddress import ip_address, ip_network

import httpx
import pytest

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics, all_topics
from hookline.ingress.app import create_app
from hookline.ingress.client_ip import allowed, client_address
from tests.support.ingress import settings_for
from tests.support.kafka import consume_all, create_topics
from tests.support.servers import serve

PROXIES = [ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32")]


@pytest.mark.parametrize(
    ("peer", "xff", "trusted", "expected"),
    [
        ("203.0.113.9", None, PROXIES, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", PROXIES, "203.0.113.9"),  # untrusted peer: header ignored
        ("10.1.2.3", "198.51.100.1", PROXIES, "198.51.100.1"),
        (
            "10.1.2.3",
            "6.6.6.6, 198.51.100.1, 10.9.9.9",
            PROXIES,
            "198.51.100.1",
        ),  # spoofed left part ignored
        (
            "10.1.2.3",
            "198.51.100.1, garbage",
            PROXIES,
            "10.1.2.3",
        ),  # garbled hop: last believed one stands
        ("10.1.2.3", "10.4.4.4, 10.5.5.5", PROXIES, "10.4.4.4"),  # all trusted: left-most
        ("10.1.2.3", "198.51.100.1:51234", PROXIES, "198.51.100.1"),  # hop with port
        ("10.1.2.3", "[2001:db8::1]:443", PROXIES, "2001:db8::1"),
        ("::ffff:10.1.2.3", "198.51.100.1", PROXIES, "198.51.100.1"),  # IPv4-mapped peer
        ("10.1.2.3", "198.51.100.1", [], "10.1.2.3"),  # no trusted proxies at all
        ("not-an-ip", "198.51.100.1", PROXIES, None),
    ],
)
def test_client_address(
    peer: str, xff: str | None, trusted: list[object], expected: str | None
) -> None:
    """The client is the right-most X-Forwarded-For hop that is not a trusted proxy."""
    result = client_address(peer, xff, trusted)  # type: ignore[arg-type]
    assert result == (ip_address(expected) if expected else None)


def test_allowed_matches_cidrs_by_version() -> None:
    """CIDR membership; an unknown address is never allowed; an empty list allows all."""
    allow = [ip_network("203.0.113.0/24"), ip_network("2001:db8::/32")]
    assert allowed(ip_address("203.0.113.77"), allow)
    assert allowed(ip_address("2001:db8::5"), allow)
    assert not allowed(ip_address("203.0.114.1"), allow)
    assert not allowed(None, allow)
    assert allowed(None, [])


BODY = json.dumps({"type": "ping", "data": {"id": "p1"}}).encode()


@pytest.mark.parametrize(
    ("trusted", "allow", "xff", "status"),
    [
        ([], ["127.0.0.1/32"], None, 202),
        ([], ["203.0.113.0/24"], None, 403),
        ([], ["203.0.113.0/24"], "203.0.113.5", 403),  # not from a trusted proxy: header ignored
        (["127.0.0.1/32"], ["203.0.113.0/24"], "203.0.113.5", 202),
        (
            ["127.0.0.1/32"],
            ["203.0.113.0/24"],
            "203.0.113.5, 198.51.100.1",
            403,
        ),  # client forged the left hop
        (
            ["127.0.0.1/32"],
            ["127.0.0.1/32"],
            "198.51.100.1",
            403,
        ),  # behind a proxy the peer is not the client
    ],
)
async def test_allow_list_through_the_ingress(
    broker: EmbeddedBroker, trusted: list[str], allow: list[str], xff: str | None, status: int
) -> None:
    """A `none`-scheme source guarded by allow_ips: allowed → 202 published; denied → 403 problem, nothing published."""
    settings = settings_for(
        broker.bootstrap_servers,
        server={"trusted_proxies": trusted},
        sources={
            "ops": {
                "provider": "standard",
                "verify": {"scheme": "none"},
                "allow_ips": allow,
                "dedup": False,
            }
        },
    )
    headers = {"content-type": "application/json", **({"x-forwarded-for": xff} if xff else {})}
    await create_topics(
        broker.bootstrap_servers, all_topics(settings, extra_domains=settings.sources), 3
    )
    app = create_app(settings, bootstrap_servers=broker.bootstrap_servers, embedded=True)
    # uvicorn's own proxy_headers (on by default, trusting 127.0.0.1) would rewrite the peer from
    # X-Forwarded-For before hookline sees it; trusted_proxies must be the only policy.
    async with serve(app, proxy_headers=False) as url, httpx.AsyncClient() as client:
        response = await client.post(f"{url}/webhooks/ops", content=BODY, headers=headers)
    assert response.status_code == status
    topic = Topics(settings.kafka.topic_prefix).events("ops")
    if status == 403:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 403
        assert await consume_all(broker.bootstrap_servers, topic, timeout=0.5) == []
    else:
        records = await consume_all(broker.bootstrap_servers, topic, expect=1)
        assert [json.loads(r.value)["id"] for r in records] == [response.json()["id"]]
