"""The SMS simulator kit (``providers/_sms/simkit``) as Every8d's and Mitake's simulators serve it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.config.secrets import Secret
from hookline.providers.every8d import simulator as every8d
from hookline.providers.mitake import simulator as mitake
from hookline.providers.mitake.adapter import acknowledgement_body
from tests.sandbox.receiver import Arrival, Receiver
from tests.support.servers import serve

SECRET = "sms-kit-callback-secret-0123456789"


@dataclass(frozen=True)
class Gateway:
    """How to drive one gateway's simulator through its own API."""

    create_app: Callable[[HooklineSettings, SimulatorSettings], Any]
    send_path: str
    login: tuple[str, str]  # the extras that pin the user and password
    fields: Callable[[str, str], dict[str, str]]  # (user, password) -> a valid send form
    message_id: Callable[[str], str]  # the send answer -> the message id
    refused: str  # what an answer refusing the credentials starts with
    delivered_code: str  # the provider's report code for "delivered"
    code_of: Callable[[Arrival], str]  # the report code a callback carries
    unknown: str  # how an emit names an unknown entity


def _every8d_fields(user: str, password: str) -> dict[str, str]:
    return {"UID": user, "PWD": password, "MSG": "hello", "DEST": "0912345678", "SB": "ref-1"}


def _mitake_fields(user: str, password: str) -> dict[str, str]:
    return {"username": user, "password": password, "dstaddr": "0912345678", "smbody": "hello"}


GATEWAYS = {
    "every8d": Gateway(
        create_app=every8d.create_app,
        send_path=every8d.SEND,
        login=("uid", "pwd"),
        fields=_every8d_fields,
        message_id=lambda text: text.strip().split(",")[-1],
        refused="-2,",
        delivered_code="100",
        code_of=lambda arrival: dict(parse_qsl(arrival.body.decode()))["Status"],
        unknown="no batch",
    ),
    "mitake": Gateway(
        create_app=mitake.create_app,
        send_path=mitake.SEND,
        login=("username", "password"),
        fields=_mitake_fields,
        message_id=lambda text: dict(
            line.split("=", 1) for line in text.splitlines() if "=" in line
        )["msgid"],
        refused="[1]\r\nstatuscode=e",
        delivered_code="4",
        code_of=lambda arrival: dict(parse_qsl(urlsplit(arrival.url).query))["StatusFlag"],
        unknown="no msgid",
    ),
}


@asynccontextmanager
async def running(
    gateway: Gateway, callback_url: str = "http://127.0.0.1:9/unused", **extras: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's simulator under uvicorn; a tick of an hour keeps the ticker's reports out."""
    settings = HooklineSettings.model_validate({})
    sim_settings = SimulatorSettings(
        port=0,
        tick_ms=3_600_000,
        callback_secret=Secret(SECRET),
        callback_url=callback_url,
        **extras,
    )
    async with (
        serve(gateway.create_app(settings, sim_settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        yield http


async def _send(http: httpx.AsyncClient, gateway: Gateway, user: str, password: str) -> str:
    response = await http.post(gateway.send_path, data=gateway.fields(user, password))
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize("name", sorted(GATEWAYS))
async def test_unpinned_credentials_accept_any_non_empty_pair(name: str) -> None:
    """Without user and password extras any non-empty pair sends; an empty password is refused."""
    gateway = GATEWAYS[name]
    async with running(gateway) as http:
        assert not (await _send(http, gateway, "anyone", "anything")).startswith(gateway.refused)
        assert (await _send(http, gateway, "anyone", "")).startswith(gateway.refused)


@pytest.mark.parametrize("name", sorted(GATEWAYS))
async def test_pinned_credentials_accept_only_that_pair(name: str) -> None:
    """With the pair pinned in the extras, only that user and password send."""
    gateway = GATEWAYS[name]
    user_key, password_key = gateway.login
    async with running(gateway, **{user_key: "kit-user", password_key: "kit-pass"}) as http:
        assert (await _send(http, gateway, "kit-user", "wrong")).startswith(gateway.refused)
        assert (await _send(http, gateway, "someone", "kit-pass")).startswith(gateway.refused)
        assert not (await _send(http, gateway, "kit-user", "kit-pass")).startswith(gateway.refused)


@pytest.mark.parametrize("name", sorted(GATEWAYS))
async def test_emit_takes_the_provider_code_or_the_state_name(name: str) -> None:
    """/_sim/emit names a report by the provider's code or by state; both send that code."""
    gateway = GATEWAYS[name]
    receiver = Receiver()
    async with (
        serve(receiver.app()) as receiver_url,
        running(gateway, callback_url=f"{receiver_url}/dlr") as http,
    ):
        message_id = gateway.message_id(await _send(http, gateway, "u", "p"))
        if name == "mitake":  # Mitake counts a report delivered only on its exact answer
            receiver.script = [(200, acknowledgement_body(message_id))]
        for event in (gateway.delivered_code, "delivered"):
            emitted = await http.post("/_sim/emit", json={"event": event, "entity_id": message_id})
            assert emitted.status_code == 202, emitted.text
        for _ in range(500):  # up to 10 s on a busy machine
            if len(receiver.arrivals) >= 2:
                break
            await asyncio.sleep(0.02)
    assert [gateway.code_of(a) for a in receiver.arrivals[:2]] == [gateway.delivered_code] * 2


@pytest.mark.parametrize("name", sorted(GATEWAYS))
async def test_emit_refuses_an_unknown_report_or_message(name: str) -> None:
    """An emit of an unknown report code answers 400; of an unknown message, 404 naming it."""
    gateway = GATEWAYS[name]
    async with running(gateway) as http:
        message_id = gateway.message_id(await _send(http, gateway, "u", "p"))
        unknown_code = await http.post(
            "/_sim/emit", json={"event": "no-such-code", "entity_id": message_id}
        )
        assert unknown_code.status_code == 400
        missing = await http.post("/_sim/emit", json={"event": "delivered", "entity_id": "nope"})
        assert missing.status_code == 404
        assert missing.json()["error"] == f"{gateway.unknown} nope"
