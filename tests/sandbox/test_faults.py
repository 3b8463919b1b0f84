"""Fault injection (docs/providers/simulators.md#admin-api): matching rules, and every fault kind over a real socket."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from hookline.sandbox.faults import FaultBook, FaultSpec, compile_glob
from tests.sandbox.conftest import Running, StartWidgets

CREATE = {"colour": "blue"}


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/v1/widgets", "/v1/widgets", True),
        ("/v1/widgets", "/v1/widgets/", True),
        ("/v1/widgets", "/v1/widgets/w_1", False),
        ("/v1/widgets/*", "/v1/widgets/w_1", True),
        ("/v1/widgets/*", "/v1/widgets", False),
        ("/v1/widgets/*", "/v1/widgets/w_1/parts", False),
        ("/orders/*/status", "/orders/ORD-1/status", True),
        ("/orders/*/status", "/orders/ORD-1/x/status", False),
        ("/v1/**", "/v1", True),
        ("/v1/**", "/v1/widgets/w_1/parts", True),
        ("/v1/**", "/v2/widgets", False),
        ("/**", "/", True),
        ("/**", "/anything/at/all", True),
        ("/**/status", "/orders/ORD-1/status", True),
        ("/**/status", "/status", True),
        ("/Accounts/*/Messages.json", "/Accounts/AC1/Messages.json", True),
        ("/Accounts/*/Messages.json", "/Accounts/AC1/MessagesXjson", False),
        ("/Messages/SM*.json", "/Messages/SM123.json", True),
        ("/Messages/SM*.json", "/Messages/SM1/2.json", False),
    ],
)
def test_glob(pattern: str, path: str, matches: bool) -> None:
    """``*`` is one segment, ``**`` any number of segments, other characters are literal."""
    assert (compile_glob(pattern).match(path) is not None) is matches


def test_book_first_match_wins_and_count_runs_out() -> None:
    """Faults match in registration order; a spent fault gives way to the next one."""
    book = FaultBook()
    first = book.add(FaultSpec(path="/v1/**", status=503, count=2))
    second = book.add(FaultSpec(path="/v1/widgets", status=429))
    assert book.take("POST", "/v1/widgets") is first
    assert book.take("POST", "/v1/widgets") is first
    assert book.take("POST", "/v1/widgets") is second
    assert book.take("POST", "/v1/widgets") is None
    assert book.applied == 3


def test_book_method_filter_and_unlimited_count() -> None:
    """A method-bound fault ignores other methods; ``count: 0`` lasts until deleted."""
    book = FaultBook()
    fault = book.add(FaultSpec(path="/v1/widgets", method="post", status=500, count=0))
    assert fault.remaining is None
    assert book.take("GET", "/v1/widgets") is None
    for _ in range(5):
        assert book.take("POST", "/v1/widgets") is fault
    assert book.delete(fault.id)
    assert book.take("POST", "/v1/widgets") is None
    assert not book.delete(fault.id)


async def test_status_fault_uses_provider_format_and_skips_handler(widgets_sim: Running) -> None:
    """A status fault answers in the provider's error format and the handler never runs."""
    await widgets_sim.fault(
        path="/v1/widgets", method="POST", status=503, retry_after=7, reset_in=30
    )
    before = int(time.time())
    response = await widgets_sim.client.post("/v1/widgets", json=CREATE)
    after = int(time.time())
    assert response.status_code == 503
    assert response.json() == {"error": {"code": "INTERNAL"}}
    assert response.headers["retry-after"] == "7"
    assert before + 30 <= int(response.headers["x-ratelimit-reset"]) <= after + 30
    state = await widgets_sim.state()
    assert state["handled"] == 0
    assert state["entities"]["widgets"] == {}
    assert state["faults"]["applied"] == 1
    assert state["requests"] == {"total": 1, "by_route": {"POST /v1/widgets": 1}}


async def test_error_code_fault_renders_code_and_its_status(widgets_sim: Running) -> None:
    """``error_code`` is rendered by the provider, with the provider's status unless one is given."""
    await widgets_sim.fault(path="/v1/widgets", error_code="SOLD_OUT")
    await widgets_sim.fault(path="/v1/widgets", error_code="SOLD_OUT", status=422)
    first = await widgets_sim.client.post("/v1/widgets", json=CREATE)
    second = await widgets_sim.client.post("/v1/widgets", json=CREATE)
    third = await widgets_sim.client.post("/v1/widgets", json=CREATE)
    assert (first.status_code, first.json()["error"]["code"]) == (409, "SOLD_OUT")
    assert (second.status_code, second.json()["error"]["code"]) == (422, "SOLD_OUT")
    assert third.status_code == 201


async def test_delay_only_fault_lets_the_handler_answer(widgets_sim: Running) -> None:
    """A delay-only fault waits, then the real handler answers (with the fault's extra headers)."""
    await widgets_sim.fault(path="/v1/widgets", delay_ms=300, retry_after=2)
    started = time.monotonic()
    response = await widgets_sim.client.post("/v1/widgets", json=CREATE)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 201
    assert response.headers["retry-after"] == "2"
    assert (await widgets_sim.state())["handled"] == 1


async def test_delay_beyond_client_timeout_times_out(widgets_sim: Running) -> None:
    """A delay above the client's timeout is a read timeout for the client."""
    await widgets_sim.fault(path="/v1/widgets/*", delay_ms=600, status=200)
    with pytest.raises(httpx.ReadTimeout):
        await widgets_sim.client.get("/v1/widgets/w_1", timeout=0.2)


async def test_malformed_fault_cuts_the_body_in_half(widgets_sim: Running) -> None:
    """``malformed`` answers 200 (or ``status``) with the provider's content type and half a body."""
    await widgets_sim.fault(path="/v1/widgets/*", malformed=True)
    await widgets_sim.fault(path="/v1/widgets/*", malformed=True, status=201)
    response = await widgets_sim.client.get("/v1/widgets/w_1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    sample = widgets_sim.sim.fmt.sample
    assert response.content == sample[: len(sample) // 2]
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert (await widgets_sim.client.get("/v1/widgets/w_1")).status_code == 201


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_disconnect_fault_closes_without_an_answer(
    start_widgets: StartWidgets, http: str
) -> None:
    """``disconnect`` drops the connection with no response (both uvicorn HTTP stacks); serving goes on."""
    async with start_widgets(http=http) as widgets_sim:
        await widgets_sim.fault(path="/v1/widgets", method="POST", disconnect=True)
        with pytest.raises(httpx.RemoteProtocolError):
            await widgets_sim.client.post("/v1/widgets", json=CREATE)
        state = await widgets_sim.state()
        assert state["handled"] == 0
        assert state["faults"]["applied"] == 1
        assert (await widgets_sim.client.post("/v1/widgets", json=CREATE)).status_code == 201


async def test_count_and_first_match_over_http(widgets_sim: Running) -> None:
    """``count`` limits a fault; the earliest matching fault wins; remaining is reported."""
    broad = await widgets_sim.fault(path="/v1/**", status=502, count=2)
    narrow = await widgets_sim.fault(path="/v1/widgets/*", status=504)
    assert broad["remaining"] == 2
    statuses = [(await widgets_sim.client.get("/v1/widgets/w_9")).status_code for _ in range(4)]
    assert statuses == [502, 502, 504, 404]
    listed = (await widgets_sim.client.get("/_sim/faults")).json()
    assert listed == []
    assert narrow["id"] != broad["id"]


async def test_unlimited_fault_until_deleted(widgets_sim: Running) -> None:
    """``count: 0`` keeps answering until ``DELETE /_sim/faults/{id}``."""
    fault = await widgets_sim.fault(path="/v1/widgets", method="POST", status=500, count=0)
    assert fault["remaining"] is None
    for _ in range(3):
        assert (await widgets_sim.client.post("/v1/widgets", json=CREATE)).status_code == 500
    # Other methods on the same path are not affected.
    assert (await widgets_sim.client.get("/v1/widgets")).status_code == 405
    deleted = await widgets_sim.client.delete(f"/_sim/faults/{fault['id']}")
    assert deleted.status_code == 204
    assert (await widgets_sim.client.post("/v1/widgets", json=CREATE)).status_code == 201
    assert (await widgets_sim.client.delete(f"/_sim/faults/{fault['id']}")).status_code == 404


async def test_faults_listed_in_match_order_with_remaining(widgets_sim: Running) -> None:
    """``GET /_sim/faults`` lists active faults in match order with what remains of each."""
    a = await widgets_sim.fault(path="/v1/widgets", method="POST", status=500, count=3)
    b = await widgets_sim.fault(path="/v1/**", status=503)
    await widgets_sim.client.post("/v1/widgets", json=CREATE)
    listed = (await widgets_sim.client.get("/_sim/faults")).json()
    assert [(f["id"], f["remaining"]) for f in listed] == [(a["id"], 2), (b["id"], 1)]
    assert listed[0]["method"] == "POST"
    assert (await widgets_sim.state())["faults"]["active"] == listed


async def test_invalid_fault_spec_is_rejected(widgets_sim: Running) -> None:
    """A fault spec without a path, with unknown fields or bad values answers 400 with details."""
    for spec in (
        {"status": 500},
        {"path": "v1"},
        {"path": "/v1", "status": 99},
        {"path": "/v1", "colour": 1},
    ):
        response = await widgets_sim.client.post("/_sim/faults", json=spec)
        assert response.status_code == 400, spec
        assert response.json()["details"]
    broken = await widgets_sim.client.post("/_sim/faults", content=b"{not json")
    assert broken.status_code == 400
    assert (await widgets_sim.client.get("/_sim/faults")).json() == []


async def test_late_answer_still_acts_after_client_gave_up(widgets_sim: Running) -> None:
    """A delay-only fault past the client's timeout: the client times out, the provider still acts."""
    await widgets_sim.fault(path="/v1/widgets", method="POST", delay_ms=400)
    with pytest.raises(httpx.ReadTimeout):
        await widgets_sim.client.post("/v1/widgets", json={"colour": "late"}, timeout=0.1)
    async with asyncio.timeout(5):
        while (await widgets_sim.state())["handled"] == 0:  # noqa: ASYNC110 - polling over HTTP
            await asyncio.sleep(0.05)
    widgets = (await widgets_sim.state())["entities"]["widgets"]
    assert [w["colour"] for w in widgets.values()] == ["late"]
