"""Shell Recharge charging sessions through the whole loop: start → progress webhooks → completed."""

from __future__ import annotations

import pytest

from tests.services.reservation.loop import ReservationLoop, create_data

SHELL = "shell_recharge"


async def _session(rloop: ReservationLoop, data: dict) -> tuple[str, str]:
    command = rloop.command("charging.session.start", data)
    await rloop.send(command)
    result = await rloop.result(command)
    assert result.type == "charging.command.succeeded", result.data
    return command.id, result.data["session_id"]


async def test_session_progresses_and_completes_with_energy_and_cost(
    rloop: ReservationLoop,
) -> None:
    """start (with a reservation) → started, progress…, completed at the target SOC with kWh, cost and driver."""
    reserve = rloop.command("reservation.create", create_data(SHELL, 11, connector_id="conn_004"))
    await rloop.send(reserve)
    reservation_id = (await rloop.result(reserve)).data["reservation_id"]
    command_id, session_id = await _session(
        rloop,
        {
            "station_id": "shell_ev_001",
            "connector_id": "conn_004",
            "reservation_id": reservation_id,
        },
    )

    completed = await rloop.wait(
        lambda e: e.type == "charging.session.completed" and e.subject == session_id,
        "charging.session.completed",
        timeout=30,
    )
    events = [e for e in rloop.of(session_id) if e.type.startswith("charging.session.")]
    types = [e.type for e in events]
    assert types[0] == "charging.session.started"
    assert types[-1] == "charging.session.completed"
    progress = [e for e in events if e.type == "charging.session.progress"]
    assert len(progress) >= 5
    energies = [e.data["energy_kwh"] for e in progress]
    assert energies == sorted(energies) and energies[0] > 0
    assert all(e.data["cost"]["amount"] >= 1.0 for e in progress)

    data = completed.data
    assert data["status"] == "completed"
    assert data["reservation_id"] == reservation_id
    assert data["soc_percent"] >= 80
    # 20 % → 80 % at +3 % per tick is 20 ticks of 2.5 kWh; cost = 0.40/kWh + 1.00 session fee.
    assert data["energy_kwh"] == pytest.approx(50.0)
    assert data["cost"] == {
        "amount": 21.0,
        "currency": "USD",
        "energy": 20.0,
        "time": 0.0,
        "session_fee": 1.0,
    }
    assert data["driver"] == {
        "name": "Bob Johnson",
        "email": "bob@example.com",
        "phone": "+15555550199",
    }
    assert completed.provider == SHELL
    start_result = next(
        e
        for e in rloop.events
        if e.type == "charging.command.succeeded" and e.data["command_id"] == command_id
    )
    assert start_result.subject == session_id


async def test_stop_returns_the_receipt(rloop: ReservationLoop) -> None:
    """stop mid-session → charging.command.succeeded with the receipt, and session.completed from the webhook."""
    _, session_id = await _session(
        rloop, {"station_id": "shell_ev_001", "connector_id": "conn_002"}
    )
    await rloop.wait(
        lambda e: e.type == "charging.session.progress" and e.subject == session_id, "progress"
    )
    stop = rloop.command(
        "charging.session.stop",
        {"session_id": session_id, "reason": "driver request"},
        key=session_id,
    )
    await rloop.send(stop)
    result = await rloop.result(stop)
    assert result.type == "charging.command.succeeded"
    receipt = result.data["result"]
    assert receipt["status"] == "completed"
    assert receipt["energy_kwh"] > 0
    assert receipt["cost"]["total"] == pytest.approx(receipt["cost"]["energy"] + 1.0)
    completed = await rloop.wait(
        lambda e: e.type == "charging.session.completed" and e.subject == session_id,
        "charging.session.completed",
    )
    assert completed.data["energy_kwh"] == pytest.approx(receipt["energy_kwh"])
    state = await rloop.state(SHELL)
    assert state["entities"]["connectors"]["shell_ev_001/conn_002"] == "available"


async def test_faulty_connector_fails_the_session(rloop: ReservationLoop) -> None:
    """A connector that faults after two ticks → charging.session.failed with CONNECTOR_FAULT."""
    _, session_id = await _session(
        rloop, {"station_id": "shell_ev_001", "connector_id": "conn_FAULT"}
    )
    failed = await rloop.wait(
        lambda e: e.type == "charging.session.failed" and e.subject == session_id,
        "charging.session.failed",
    )
    assert failed.data["failure"]["code"] == "CONNECTOR_FAULT"
    assert failed.data["status"] == "failed"


async def test_start_is_effect_once_when_the_command_repeats(rloop: ReservationLoop) -> None:
    """The same start command delivered twice starts one session (idempotency store + Idempotency-Key)."""
    command = rloop.command(
        "charging.session.start", {"station_id": "shell_ev_002", "connector_id": "conn_001"}
    )
    await rloop.send(command)
    first = await rloop.result(command)
    await rloop.send(command)
    await rloop.wait(
        lambda e: e.type == "charging.session.started" and e.subject == first.data["session_id"],
        "started",
    )
    state = await rloop.state(SHELL)
    on_connector = [
        s
        for s in state["entities"]["sessions"].values()
        if (s["station_id"], s["connector_id"]) == ("shell_ev_002", "conn_001")
    ]
    assert len(on_connector) == 1
    results = [
        e
        for e in rloop.events
        if e.type.startswith("charging.command.") and e.data["command_id"] == command.id
    ]
    assert {e.id for e in results} == {first.id}


async def test_start_on_occupied_connector_exhausts_retries_into_the_dlq(
    rloop: ReservationLoop,
) -> None:
    """CONNECTOR_UNAVAILABLE is retryable: retried in place and on every retry tier, then dead-lettered with a failed result."""
    command = rloop.command(
        "charging.session.start", {"station_id": "shell_ev_001", "connector_id": "conn_003"}
    )
    await rloop.send(command)
    letters: list = []
    for _ in range(40):
        letters = [
            r for r in await rloop.dead_letters(timeout=0.5) if r.key == command.key.encode()
        ]
        if letters:
            break
    assert len(letters) == 1
    headers = {k: v.decode() for k, v in letters[0].headers}
    assert headers["hookline-dlq-reason"] == "retries_exhausted"
    assert "CONNECTOR_UNAVAILABLE" in headers["hookline-error-message"]
    state = await rloop.state(SHELL)
    # One call per handler attempt: a busy connector is not retried inside the HTTP client
    # (nor counted by its breaker); the worker tried inline and then on both retry tiers.
    assert state["requests"]["by_route"]["POST /v2/sessions"] >= 4
    # Even when retries run out, the command ends in exactly one terminal result.
    result = await rloop.result(command)
    assert result.type == "charging.command.failed"
    assert result.data["error"]["code"] == "CONNECTOR_UNAVAILABLE"
    assert result.data["error"]["retryable"] is True
