"""Signed simulator callbacks (docs/providers/simulators.md#callbacks): delivery, retries, order, duplicates, bad signatures."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import replace
from typing import Any

import pytest
from pydantic import TypeAdapter

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics
from hookline.config.verify import HmacVerify, VerifyConfig
from hookline.errors import VerificationError
from hookline.sandbox import Callback, CallbackSender
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.sandbox import widgets
from tests.sandbox.conftest import StartWidgets
from tests.sandbox.receiver import Receiver
from tests.support.ingress import running_ingress, settings_for
from tests.support.kafka import consume_all
from tests.support.servers import serve

FAST = (0.05, 0.1, 0.15, 0.2)
SCHEME = build_scheme(
    HmacVerify(
        scheme="hmac",
        header="X-Widget-Signature",
        timestamp_header="X-Widget-Timestamp",
        secrets=[widgets.SECRET],
    )
)


def widgets_source() -> dict[str, Any]:
    return {
        "widgets": {
            "provider": "standard",
            "verify": {**widgets.VERIFY, "secrets": [widgets.SECRET]},
        }
    }


def callback(url: str, entity: str = "w_1", event_id: str = "evt_1", **options: Any) -> Callback:
    body = json.dumps({"id": event_id, "type": "widget.ready", "data": {"widget_id": entity}})
    return Callback(
        entity=entity, event_id=event_id, url=url, body=body.encode(), scheme=SCHEME, **options
    )


async def emit(sim: Any, **order: Any) -> str:
    response = await sim.client.post("/_sim/emit", json=order)
    assert response.status_code == 202, response.text
    event_id: str = response.json()["event_id"]
    return event_id


# ---- against the real ingress and broker ------------------------------------


async def test_emitted_callback_is_verified_and_published(
    broker: EmbeddedBroker, start_widgets: StartWidgets
) -> None:
    """An emitted callback is signed so the real ingress accepts it, and its event lands on Kafka."""
    settings = settings_for(broker.bootstrap_servers, sources=widgets_source())
    async with running_ingress(settings) as ingress, start_widgets(ingress_url=ingress) as sim:
        widget = (await sim.client.post("/v1/widgets", json={"colour": "teal"})).json()
        event_id = await emit(
            sim, event="widget.painted", entity_id=widget["widget_id"], data={"colour": "gold"}
        )
        await sim.sim.callbacks.drain(timeout=10)
        records = await consume_all(
            broker.bootstrap_servers,
            Topics(settings.kafka.topic_prefix).events("widgets"),
            expect=1,
        )
        state = (await sim.state())["callbacks"]
    assert len(records) == 1
    event = json.loads(records[0].value)
    assert event["type"] == "widgets.widget.painted"
    assert event["providereventid"] == event_id
    assert event["data"]["colour"] == "gold"
    assert state["sent"] == state["delivered"] == 1
    assert state["last"][-1] == {
        "event_id": event_id,
        "entity": widget["widget_id"],
        "status": 202,
        "attempts": 1,
        "outcome": "delivered",
        "duplicate": False,
    }


async def test_ticker_progress_sends_callbacks(
    broker: EmbeddedBroker, start_widgets: StartWidgets
) -> None:
    """The lifecycle ticker advances entities by itself and their callbacks reach Kafka."""
    settings = settings_for(broker.bootstrap_servers, sources=widgets_source())
    async with (
        running_ingress(settings) as ingress,
        start_widgets(ingress_url=ingress, tick_ms=50) as sim,
    ):
        created = [
            (await sim.client.post("/v1/widgets", json={"colour": c})).json()
            for c in ("red", "blue")
        ]
        records = await consume_all(
            broker.bootstrap_servers,
            Topics(settings.kafka.topic_prefix).events("widgets"),
            expect=2,
        )
        state = await sim.state()
    assert sorted(json.loads(r.value)["data"]["widget_id"] for r in records) == sorted(
        w["widget_id"] for w in created
    )
    assert all(w["status"] == "ready" for w in state["entities"]["widgets"].values())
    assert state["callbacks"]["delivered"] == 2


async def test_duplicate_resends_same_event_and_ingress_dedups(
    broker: EmbeddedBroker, start_widgets: StartWidgets
) -> None:
    """``duplicate: n`` re-sends the delivered event n times with the same id; one event results."""
    settings = settings_for(broker.bootstrap_servers, sources=widgets_source())
    async with running_ingress(settings) as ingress, start_widgets(ingress_url=ingress) as sim:
        widget = (await sim.client.post("/v1/widgets", json={})).json()
        event_id = await emit(sim, event="widget.ready", entity_id=widget["widget_id"], duplicate=2)
        await sim.sim.callbacks.drain(timeout=10)
        records = await consume_all(
            broker.bootstrap_servers,
            Topics(settings.kafka.topic_prefix).events("widgets"),
            expect=1,
        )
        state = (await sim.state())["callbacks"]
    assert len(records) == 1
    assert state["sent"] == state["delivered"] == 3
    assert [(o["event_id"], o["status"], o["duplicate"]) for o in state["last"]] == [
        (event_id, 202, False),
        (event_id, 200, True),
        (event_id, 200, True),
    ]


async def test_bad_signature_is_rejected_then_order_continues(
    broker: EmbeddedBroker, start_widgets: StartWidgets
) -> None:
    """A bad signature is refused (401) on every attempt and abandoned; the next callback goes through."""
    settings = settings_for(broker.bootstrap_servers, sources=widgets_source())
    async with running_ingress(settings) as ingress, start_widgets(ingress_url=ingress) as sim:
        widget = (await sim.client.post("/v1/widgets", json={})).json()
        bad = await emit(
            sim, event="widget.ready", entity_id=widget["widget_id"], bad_signature=True
        )
        good = await emit(sim, event="widget.ready", entity_id=widget["widget_id"])
        await sim.sim.callbacks.drain(timeout=10)
        records = await consume_all(
            broker.bootstrap_servers,
            Topics(settings.kafka.topic_prefix).events("widgets"),
            expect=1,
        )
        state = (await sim.state())["callbacks"]
    assert [json.loads(r.value)["providereventid"] for r in records] == [good]
    assert state["abandoned"] == 1
    assert state["delivered"] == 1
    assert state["last"][0] == {
        "event_id": bad,
        "entity": widget["widget_id"],
        "status": 401,
        "attempts": 5,
        "outcome": "abandoned",
        "duplicate": False,
    }


# ---- against a scripted receiver ------------------------------------------------


async def test_retries_on_5xx_then_delivers_same_bytes_fresh_signature() -> None:
    """Failures are retried on the 1-2-4-8 schedule (scaled); body and id stay, the signature is redone."""
    receiver = Receiver(script=(500, 503, 202))
    ticks = itertools.count(1_700_000_000, 7)
    async with serve(receiver.app()) as url:
        sender = CallbackSender(retry_delays=FAST, clock=lambda: float(next(ticks)))
        try:
            sender.enqueue(callback(f"{url}/hook", headers={"X-Widget-Event-Id": "evt_1"}))
            await sender.drain(timeout=10)
        finally:
            await sender.close()
    arrivals = receiver.arrivals
    assert len(arrivals) == 3
    assert len({a.body for a in arrivals}) == 1
    assert {a.headers["x-widget-event-id"] for a in arrivals} == {"evt_1"}
    timestamps = [a.headers["x-widget-timestamp"] for a in arrivals]
    assert len(set(timestamps)) == 3
    for arrival in arrivals:
        # Each attempt's signature is valid for its own timestamp.
        SCHEME.verify(
            SignedRequest(body=arrival.body, headers=Headers(arrival.headers)),
            float(arrival.headers["x-widget-timestamp"]),
        )
    gaps = [b.at - a.at for a, b in itertools.pairwise(arrivals)]
    assert gaps[0] >= FAST[0] * 0.9
    assert gaps[1] >= FAST[1] * 0.9
    assert (sender.delivered, sender.abandoned, sender.sent, sender.attempts) == (1, 0, 1, 3)
    assert sender.last[-1]["attempts"] == 3


async def test_abandons_after_five_attempts() -> None:
    """A callback refused five times is abandoned and counted; non-2xx of any kind counts as refused."""
    receiver = Receiver(script=(500, 401, 302, 404, 503, 200))
    async with serve(receiver.app()) as url:
        sender = CallbackSender(retry_delays=FAST)
        try:
            sender.enqueue(callback(f"{url}/hook"))
            await sender.drain(timeout=10)
        finally:
            await sender.close()
    assert len(receiver.arrivals) == 5
    assert (sender.sent, sender.delivered, sender.abandoned, sender.retrying) == (1, 0, 1, 0)
    assert sender.last[-1] == {
        "event_id": "evt_1",
        "entity": "w_1",
        "status": 503,
        "attempts": 5,
        "outcome": "abandoned",
        "duplicate": False,
    }


async def test_connection_refused_and_timeout_are_retried() -> None:
    """An unreachable target or an answer slower than the timeout is a failed attempt."""
    # A timeout of a whole second: the second attempt's immediate 204 must not
    # time out too on a loaded machine.
    receiver = Receiver(script=(("sleep", 3.0), 204))
    async with serve(receiver.app()) as url:
        sender = CallbackSender(retry_delays=FAST, timeout=1.0)
        try:
            sender.enqueue(callback(f"{url}/hook", entity="slow"))
            sender.enqueue(
                callback("http://127.0.0.1:9/nothing", entity="nowhere", event_id="evt_2")
            )
            await sender.drain(timeout=10)
        finally:
            await sender.close()
    outcomes = {o["entity"]: (o["outcome"], o["status"], o["attempts"]) for o in sender.last}
    assert outcomes == {"slow": ("delivered", 204, 2), "nowhere": ("abandoned", None, 5)}


async def test_acknowledgement_check() -> None:
    """With an ``accept`` check, a 2xx with the wrong acknowledgement body is not delivered."""
    expected = b"magicid=sms_gateway_rpack\nmsgid=1010079522\n"
    receiver = Receiver(script=((200, b"ok"), (200, expected)))
    async with serve(receiver.app()) as url:
        sender = CallbackSender(retry_delays=FAST)
        try:
            sender.enqueue(callback(f"{url}/hook", accept=lambda status, body: body == expected))
            await sender.drain(timeout=10)
        finally:
            await sender.close()
    assert len(receiver.arrivals) == 2
    assert (sender.delivered, sender.last[-1]["attempts"]) == (1, 2)


async def test_fifo_per_entity_does_not_block_others() -> None:
    """A callback waits for the previous one of its entity; other entities are not held up."""
    receiver = Receiver()
    failures = {"a1": 2}

    async with serve(receiver.app()) as url:
        sender = CallbackSender(retry_delays=FAST)

        def cb(entity: str, event_id: str) -> Callback:
            def accept(status: int, body: bytes) -> bool:
                if failures.get(event_id, 0) > 0:
                    failures[event_id] -= 1
                    return False
                return True

            return callback(f"{url}/hook", entity=entity, event_id=event_id, accept=accept)

        try:
            sender.enqueue(cb("A", "a1"))
            sender.enqueue(cb("A", "a2"))
            sender.enqueue(cb("B", "b1"))
            assert sender.queued == 1
            await sender.drain(timeout=10)
        finally:
            await sender.close()
    order = [json.loads(a.body)["id"] for a in receiver.arrivals]
    assert order.index("b1") < order.index("a2")
    assert order.index("b1") < len(order) - 1 - order[::-1].index("a1")  # before a1's last attempt
    assert [e for e in order if e.startswith("a")] == ["a1", "a1", "a1", "a2"]
    assert sender.delivered == 3


async def test_retrying_gauge_and_reset_drops_pending() -> None:
    """While waiting for a retry the callback counts as retrying; a reset drops it and zeroes counters."""
    receiver = Receiver(script=(500,))
    async with serve(receiver.app()) as url:
        sender = CallbackSender(retry_delays=(5.0, 5.0, 5.0, 5.0))
        try:
            sender.enqueue(callback(f"{url}/hook"))
            sender.enqueue(callback(f"{url}/hook", event_id="evt_2"))
            async with asyncio.timeout(5):
                while sender.retrying != 1:  # noqa: ASYNC110 - polling the sender's own gauge
                    await asyncio.sleep(0.01)
            assert sender.counters()["queued"] == 1
            await sender.reset()
            assert sender.counters() == {
                "sent": 0,
                "delivered": 0,
                "retrying": 0,
                "abandoned": 0,
                "attempts": 0,
                "queued": 0,
                "last": [],
                "dropped": 0,
                "pending": 0,
                "hold": {"drop": False, "delay_seconds": 0.0},
            }
            await sender.drain(timeout=1)
        finally:
            await sender.close()
    assert len(receiver.arrivals) == 1


async def test_callback_url_defaults_to_ingress_source(start_widgets: StartWidgets) -> None:
    """Without callback_url, callbacks go to {ingress_url}/webhooks/{source}; callback_url overrides."""
    receiver = Receiver(script=(202,))
    async with serve(receiver.app()) as url:
        async with start_widgets(ingress_url=url) as sim:
            assert sim.sim.callback_url == f"{url}/webhooks/widgets"
            widget = (await sim.client.post("/v1/widgets", json={})).json()
            await emit(sim, event="widget.ready", entity_id=widget["widget_id"])
            await sim.sim.callbacks.drain(timeout=5)
        async with start_widgets(callback_url=f"{url}/elsewhere?x=1") as sim:
            widget = (await sim.client.post("/v1/widgets", json={})).json()
            await emit(sim, event="widget.ready", entity_id=widget["widget_id"], delay_ms=50)
            await sim.sim.callbacks.drain(timeout=5)
    assert [a.url.removeprefix(url) for a in receiver.arrivals] == [
        "/webhooks/widgets",
        "/elsewhere?x=1",
    ]


async def test_emit_rejections(widgets_sim: Any) -> None:
    """The provider hook refuses unknown entities and events; a malformed emit body is a 400."""
    c = widgets_sim.client
    unknown = await c.post("/_sim/emit", json={"event": "widget.ready", "entity_id": "w_404"})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no widget w_404"})
    widget = (await c.post("/v1/widgets", json={})).json()
    wrong = await c.post(
        "/_sim/emit", json={"event": "gadget.ready", "entity_id": widget["widget_id"]}
    )
    assert wrong.status_code == 400
    for body in ({"entity_id": "w_1"}, {"event": "x", "entity_id": "w_1", "duplicate": -1}):
        response = await c.post("/_sim/emit", json=body)
        assert response.status_code == 400
        assert response.json()["details"]
    assert (await widgets_sim.state())["callbacks"]["sent"] == 0


@pytest.mark.parametrize(
    "case",
    [
        "hmac-hex",
        "hmac-base64-prefix",
        "standard-webhooks",
        "stripe",
        "twilio",
        "token-query",
        "token-header",
        "github",
        "slack",
        "shopify",
    ],
)
def test_bad_signature_is_a_mismatch_for_every_scheme(case: str) -> None:
    """The corrupted signature still parses, so every scheme rejects it as a mismatch."""
    options: dict[str, Any] = {
        "hmac-hex": {
            "scheme": "hmac",
            "header": "X-Sig",
            "timestamp_header": "X-Ts",
            "secrets": ["s3cret-value"],
        },
        "hmac-base64-prefix": {
            "scheme": "hmac",
            "header": "X-Sig",
            "encoding": "base64",
            "prefix": "sha256=",
            "secrets": ["s3cret-value"],
        },
        "standard-webhooks": {
            "scheme": "standard-webhooks",
            "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        },
        "stripe": {"scheme": "stripe", "secrets": ["whsec_test_secret"]},
        "twilio": {"scheme": "twilio", "secrets": ["twilio-auth-token"]},
        "token-query": {"scheme": "token", "query_param": "token", "secrets": ["tok-123456"]},
        "token-header": {
            "scheme": "token",
            "header": "X-Callback-Token",
            "secrets": ["tok-123456"],
        },
        "github": {"scheme": "github", "secrets": ["gh-secret"]},
        "slack": {"scheme": "slack", "secrets": ["slack-secret"]},
        "shopify": {"scheme": "shopify", "secrets": ["shopify-secret"]},
    }[case]
    scheme = build_scheme(TypeAdapter(VerifyConfig).validate_python(options))
    now = 1_700_000_000.0
    content_type = "application/x-www-form-urlencoded" if case == "twilio" else "application/json"
    body = b"To=%2B15555550123&MessageStatus=delivered" if case == "twilio" else b'{"id": "evt_1"}'
    sender = CallbackSender(clock=lambda: now)
    base = Callback(
        entity="e",
        event_id="evt_1",
        url="https://hooks.example.com/webhooks/x?ref=m1",
        body=body,
        content_type=content_type,
        scheme=scheme,
    )
    scheme.verify(sender.sign(base), now)
    with pytest.raises(VerificationError) as caught:
        scheme.verify(sender.sign(replace(base, bad_signature=True)), now)
    assert caught.value.reason == "mismatch"


async def test_held_callbacks_are_dropped_or_sent_late() -> None:
    """A drop hold counts callbacks and sends none; a delay hold sends each one that much later."""
    receiver = Receiver()
    async with serve(receiver.app()) as url:
        sender = CallbackSender()
        try:
            sender.drop = True
            sender.enqueue(callback(f"{url}/hook"))
            await sender.drain(timeout=1)
            assert sender.counters()["dropped"] == 1 and sender.sent == 0
            sender.drop, sender.hold_seconds = False, 0.5
            sender.enqueue(callback(f"{url}/hook", event_id="evt_2"))
            assert sender.counters()["pending"] == 1
            await asyncio.sleep(0.2)
            assert receiver.arrivals == []
            await sender.drain(timeout=10)
        finally:
            await sender.close()
    assert [json.loads(a.body)["id"] for a in receiver.arrivals] == ["evt_2"]
