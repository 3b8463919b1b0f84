"""``Idempotency-Key`` as simulators honour it (docs/providers/simulators.md#idempotency), over a real socket."""

from __future__ import annotations

import asyncio

from hookline.sandbox.idempotency import IdempotencyStore, StoredResponse
from tests.sandbox.conftest import Running, StartWidgets


def key(value: str, account: str = "acct-1") -> dict[str, str]:
    return {"Idempotency-Key": value, "X-Account": account}


async def test_repeat_replays_first_answer(widgets_sim: Running) -> None:
    """A repeated key gets the first answer unchanged, marked replayed; the handler ran once."""
    c = widgets_sim.client
    first = await c.post("/v1/widgets", json={"colour": "blue"}, headers=key("k1"))
    again = await c.post("/v1/widgets", json={"colour": "blue"}, headers=key("k1"))
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    state = await widgets_sim.state()
    assert state["handled"] == 1
    assert len(state["entities"]["widgets"]) == 1
    assert state["idempotency"] == {"keys": 1, "repeats": 1, "mismatches": 0}
    assert state["requests"]["by_route"] == {"POST /v1/widgets": 2}


async def test_new_key_credential_or_no_key_runs_for_real(widgets_sim: Running) -> None:
    """Keys are scoped per credential; a new key or no key at all creates a new entity."""
    c = widgets_sim.client
    ids = set()
    for headers in (key("k1"), key("k2"), key("k1", account="acct-2"), {"X-Account": "acct-1"}, {}):
        response = await c.post("/v1/widgets", json={"colour": "blue"}, headers=headers)
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
        ids.add(response.json()["widget_id"])
    assert len(ids) == 5
    assert (await widgets_sim.state())["idempotency"] == {"keys": 3, "repeats": 0, "mismatches": 0}


async def test_repeat_with_other_body_is_replayed_and_counted(widgets_sim: Running) -> None:
    """A repeated key with a different body still gets the first answer; it counts as a mismatch."""
    c = widgets_sim.client
    first = await c.post("/v1/widgets", json={"colour": "blue"}, headers=key("k1"))
    other = await c.post("/v1/widgets", json={"colour": "green"}, headers=key("k1"))
    assert other.json() == first.json()
    assert other.json()["colour"] == "blue"
    assert other.headers["idempotent-replayed"] == "true"
    assert (await widgets_sim.state())["idempotency"] == {"keys": 1, "repeats": 1, "mismatches": 1}


async def test_concurrent_repeat_waits_for_the_first(start_widgets: StartWidgets) -> None:
    """A repeat arriving while the first is still running waits and then gets the replay."""
    async with start_widgets(handler_delay=0.3) as sim:
        c = sim.client
        first, second, third = await asyncio.gather(
            *(c.post("/v1/widgets", json={"colour": "red"}, headers=key("same")) for _ in range(3))
        )
        assert first.content == second.content == third.content
        replayed = [r.headers.get("idempotent-replayed") for r in (first, second, third)]
        assert sorted(replayed, key=str) == [None, "true", "true"]
        state = await sim.state()
        assert state["handled"] == 1
        assert state["idempotency"]["repeats"] == 2


async def test_business_4xx_is_stored(widgets_sim: Running) -> None:
    """A 4xx business answer from the handler is kept and replayed."""
    c = widgets_sim.client
    first = await c.post("/v1/widgets", json={"colour": "plaid"}, headers=key("k4"))
    again = await c.post("/v1/widgets", json={"colour": "plaid"}, headers=key("k4"))
    assert first.status_code == again.status_code == 409
    assert again.headers["idempotent-replayed"] == "true"
    assert (await widgets_sim.state())["handled"] == 1


async def test_5xx_is_not_stored(widgets_sim: Running) -> None:
    """A 5xx from the handler releases the key: a retry runs for real."""
    c = widgets_sim.client
    for _ in range(2):
        response = await c.post("/v1/widgets", json={"colour": "broken"}, headers=key("k5"))
        assert response.status_code == 500
        assert "idempotent-replayed" not in response.headers
    state = await widgets_sim.state()
    assert state["handled"] == 2
    assert state["idempotency"] == {"keys": 0, "repeats": 0, "mismatches": 0}


async def test_handler_crash_releases_the_key(widgets_sim: Running) -> None:
    """A handler that raises answers 500 and keeps nothing; the retry with the same key runs again."""
    c = widgets_sim.client
    for _ in range(2):
        response = await c.post("/v1/widgets", json={"colour": "explode"}, headers=key("k8"))
        assert response.status_code == 500
    state = await widgets_sim.state()
    assert state["handled"] == 2
    assert state["idempotency"]["keys"] == 0


async def test_injected_fault_is_not_stored(widgets_sim: Running) -> None:
    """A faulted request keeps no answer, so the retry with the same key runs the handler."""
    c = widgets_sim.client
    await widgets_sim.fault(path="/v1/widgets", method="POST", status=503)
    faulted = await c.post("/v1/widgets", json={"colour": "blue"}, headers=key("k6"))
    retried = await c.post("/v1/widgets", json={"colour": "blue"}, headers=key("k6"))
    replay = await c.post("/v1/widgets", json={"colour": "blue"}, headers=key("k6"))
    assert faulted.status_code == 503
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == retried.content
    assert (await widgets_sim.state())["handled"] == 1


async def test_non_idempotent_route_ignores_the_key(widgets_sim: Running) -> None:
    """Routes not declared idempotent never replay, even with a key."""
    c = widgets_sim.client
    created = (await c.post("/v1/widgets", json={"colour": "blue"})).json()
    await widgets_sim.fault(path="/v1/widgets/*", status=503)
    faulted = await c.get(f"/v1/widgets/{created['widget_id']}", headers=key("k7"))
    real = await c.get(f"/v1/widgets/{created['widget_id']}", headers=key("k7"))
    assert (faulted.status_code, real.status_code) == (503, 200)
    assert "idempotent-replayed" not in real.headers
    assert (await widgets_sim.state())["idempotency"]["keys"] == 0


async def test_keys_expire_after_retention() -> None:
    """A stored answer is kept for the retention period (24 h), then the key runs again."""
    now = [1000.0]
    store = IdempotencyStore(clock=lambda: now[0])
    scope = ("acct", "POST", "/v1/widgets", "k")
    claim = await store.claim(scope, b"{}")
    assert claim.replay is None
    store.finish(claim, StoredResponse(201, [], b"first"))
    now[0] += 24 * 3600 - 1
    assert (await store.claim(scope, b"{}")).replay == StoredResponse(201, [], b"first")
    now[0] += 2
    fresh = await store.claim(scope, b"{}")
    assert fresh.replay is None
    assert store.keys == 0


async def test_reset_while_running_stores_nothing() -> None:
    """A reset during the first request drops its key; its late answer is not stored."""
    store = IdempotencyStore()
    scope = ("acct", "POST", "/v1/widgets", "k")
    claim = await store.claim(scope, b"{}")
    store.clear()
    store.finish(claim, StoredResponse(201, [], b"late"))
    assert store.keys == 0
    assert (await store.claim(scope, b"{}")).replay is None


async def test_client_gone_mid_body_runs_nothing_and_stores_nothing(widgets_sim: Running) -> None:
    """Half a body then a disconnect: no handler run, no stored answer; the retry runs for real."""
    host, port = widgets_sim.url.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /v1/widgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Account: acct-1\r\nIdempotency-Key: cut\r\nContent-Length: 200\r\n\r\n"
        b'{"colour": "bl'
    )
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.3)
    state = await widgets_sim.state()
    assert state["handled"] == 0
    assert state["idempotency"]["keys"] == 0
    retry = await widgets_sim.client.post(
        "/v1/widgets", json={"colour": "blue"}, headers=key("cut")
    )
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
