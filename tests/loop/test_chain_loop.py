"""Following one webhook under `hookline run`: one correlation id from the delivery to its
callbacks, `hookline trace` and `send --follow` showing every hop, the CLI around them.

Each test sends a signed Colt "order completed" webhook (a fresh event and order id)
with `hookline send`: the reactor turns it into an ``sms.send``, the sms worker calls
the Twilio simulator (an audited HTTP call) and emits ``sms.message.accepted``,
and the simulator's signed status callbacks come back through the ingress.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from hookline.admin.trace import read_records
from hookline.config.loader import load_settings
from hookline.providers.registry import PROVIDERS
from tests.loop.test_run_loop import ENV, HOOKLINE, SCHEMAS


def hookline(config: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HOOKLINE, "--config", str(config), *args],
        capture_output=True, text=True, timeout=timeout, env=ENV, check=False,
    )  # fmt: skip


def order_completed(tmp: Path) -> Path:
    """The shipped "order completed" sample with its own event and order id."""
    sample = next(s for s in PROVIDERS["colt"].samples() if s.name == "order-completed")
    unique = uuid.uuid4().hex[:10]
    body = sample.body.replace(b"evt_7f3c2a9e", f"evt_{unique}".encode())
    path = tmp / f"completed-{unique}.json"
    path.write_bytes(body.replace(b"ORD-100234", f"ORD-{unique}".encode()))
    return path


def receipt_of(output: str) -> dict[str, Any]:
    status, body = output.splitlines()[0].split(" ", 1)
    assert status == "202", output
    receipt: dict[str, Any] = json.loads(body)
    return receipt


async def chain_until(config: Path, bootstrap: str, correlation: str, last_type: str) -> list[Any]:
    """Every record of ``correlation``, once one of ``last_type`` is among them."""
    settings = load_settings(str(config))
    for _ in range(60):
        hops = await read_records(settings, bootstrap, None)
        ours = [h for h in hops if h.attribute("correlationid") == correlation]
        if any(h.attribute("type") == last_type for h in ours):
            return ours
        await asyncio.sleep(0.5)
    raise AssertionError(f"no {last_type} in the chain of {correlation}")


def simulator(config: Path, name: str) -> str:
    settings = load_settings(str(config))
    return f"http://127.0.0.1:{settings.sandbox.providers[name].port}"


async def test_webhook_command_result_and_callback_share_one_correlation(
    loop: tuple[Path, str], tmp_path: Path
) -> None:
    """Webhook → reactor command → audited HTTP call → worker result → simulator callback: one
    correlationid (the delivery's first event), each caused by the hop before it."""
    config, bootstrap = loop
    sent = hookline(config, "send", "colt", str(order_completed(tmp_path)))
    assert sent.returncode == 0, sent.stderr
    receipt = receipt_of(sent.stdout)
    records = await chain_until(config, bootstrap, receipt["id"], "sms.message.delivered")
    by_type = {h.attribute("type"): h for h in records if ".dlq." not in h.stored.topic}
    webhook = by_type["colt.order.state_changed"]
    command, call = by_type["sms.send"], by_type["hookline.http.call"]
    accepted, delivered = by_type["sms.message.accepted"], by_type["sms.message.delivered"]
    assert webhook.id == receipt["id"] and webhook.attribute("causationid") is None
    assert command.attribute("causationid") == webhook.id
    assert call.attribute("causationid") == command.id and call.data["provider"] == "twilio"
    assert call.data["status"] == 201 and call.data["method"] == "POST"
    schema = json.loads((SCHEMAS / "events" / "hookline.http.call.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(call.data)
    assert accepted.attribute("causationid") == command.id
    # Every hop hookline derived names the webhook's request (the provider's X-Request-ID).
    request_id = webhook.attribute("requestid")
    assert request_id
    assert [h.attribute("requestid") for h in (command, call, accepted)] == [request_id] * 3
    # The provider's callback entered through the ingress, and joined the chain.
    assert delivered.attribute("source") == "/hookline/sources/sms-twilio"
    assert delivered.attribute("causationid") == accepted.id
    assert delivered.attribute("requestid")


async def test_trace_prints_every_hop_in_order(loop: tuple[Path, str], tmp_path: Path) -> None:
    """`hookline trace` (by event id or request id) prints webhook, command, HTTP call, result and
    callback in causal order, each with its Kafka coordinates; --json gives the same tree."""
    config, bootstrap = loop
    sent = hookline(config, "send", "colt", str(order_completed(tmp_path)))
    receipt = receipt_of(sent.stdout)
    records = await chain_until(config, bootstrap, receipt["id"], "sms.message.delivered")
    request_id = next(h for h in records if h.id == receipt["id"]).attribute("requestid")
    for wanted in (receipt["id"], request_id):
        shown = hookline(config, "trace", str(wanted))
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        order = [
            "webhook colt.order.state_changed",
            "command sms.send",
            "http hookline.http.call",
            "event sms.message.accepted",
            "webhook sms.message.delivered",
        ]
        positions = [next(i for i, text in enumerate(lines) if hop in text) for hop in order]
        assert positions == sorted(positions), shown.stdout
        first = f"{receipt['topic']}[{receipt['partition']}]@{receipt['offset']}"
        assert first in lines[positions[0]]
        depth = [len(lines[p]) - len(lines[p].lstrip()) for p in positions]
        assert depth[0] < depth[1] < depth[2] and depth[3] == depth[2] < depth[4], shown.stdout
    as_json = json.loads(hookline(config, "trace", receipt["id"], "--json").stdout)
    [root] = as_json["roots"]
    assert root["id"] == receipt["id"] and root["kafka"]["offset"] == receipt["offset"]
    assert [c["type"] for c in root["children"]] == ["sms.send"]


async def test_trace_shows_the_dead_letter_and_its_reason(
    loop: tuple[Path, str], tmp_path: Path
) -> None:
    """A delivery whose command the gateway refuses for good: the trace ends in the dead letter, with its reason."""
    config, _ = loop
    twilio = simulator(config, "twilio")
    async with httpx.AsyncClient() as client:
        fault = await client.post(
            f"{twilio}/_sim/faults",
            json={
                "path": "/2010-04-01/Accounts/*/Messages.json",
                "method": "POST",
                "status": 400,
                "count": 1,
            },
        )
    assert fault.status_code == 201, fault.text
    receipt = receipt_of(hookline(config, "send", "colt", str(order_completed(tmp_path))).stdout)
    for _ in range(40):
        shown = hookline(config, "trace", receipt["id"])
        if "dead letter sms.send" in shown.stdout:
            break
        await asyncio.sleep(0.5)
    letter = next(text for text in shown.stdout.splitlines() if "dead letter sms.send" in text)
    assert "hookline.dlq.sms[" in letter and "permanent" in letter, shown.stdout
    assert "→ 400" in shown.stdout  # the refused call, audited


async def test_send_follow_prints_the_record_and_what_it_causes(
    loop: tuple[Path, str], tmp_path: Path
) -> None:
    """`send --follow` prints the receipt, then the stored record and each descendant as it arrives."""
    config, _ = loop
    followed = hookline(
        config, "send", "colt", str(order_completed(tmp_path)), "--follow", "--wait", "4"
    )
    assert followed.returncode == 0, followed.stderr
    receipt = receipt_of(followed.stdout)
    lines = followed.stdout.splitlines()[1:]
    assert "webhook colt.order.state_changed" in lines[0]
    assert f"{receipt['topic']}[{receipt['partition']}]@{receipt['offset']}" in lines[0]
    for hop in ("command sms.send", "event sms.message.accepted", "webhook sms.message.delivered"):
        assert any(hop in text for text in lines), followed.stdout


def test_send_same_id_counts_duplicates_and_tail_finds_by_id(loop: tuple[Path, str]) -> None:
    """send --same-id --count 3: one new delivery, two duplicates; `tail --id` prints that event
    with its coordinates and exits 0; an unknown topic is named."""
    config, _ = loop
    sent = hookline(config, "send", "billing", "--same-id", "--count", "3", "--concurrency", "1")
    assert sent.returncode == 0, sent.stderr
    summary = json.loads(sent.stdout)
    assert summary["2xx"] == 3 and summary["duplicates"] == 2
    first = receipt_of(hookline(config, "send", "billing").stdout)
    shown = hookline(
        config, "tail", "events.*", "--from-beginning", "--id", first["id"], "--timeout", "20"
    )
    assert shown.returncode == 0, shown.stderr
    [line] = shown.stdout.splitlines()
    event = json.loads(line)
    assert event["id"] == first["id"]
    assert event["_kafka"] == {**{k: first[k] for k in ("topic", "partition", "offset")},
                               "timestamp": event["_kafka"]["timestamp"]}  # fmt: skip
    unknown = hookline(config, "tail", "events.nosuch", "--timeout", "2")
    assert unknown.returncode == 1 and "no topic hookline.events.nosuch" in unknown.stderr


def test_tail_exits_0_once_it_printed_what_arrived(loop: tuple[Path, str]) -> None:
    """tail --timeout without --count: events printed, then quiet, is a success; nothing is not."""
    config, _ = loop
    receipt_of(hookline(config, "send", "billing").stdout)
    shown = hookline(config, "tail", "events.billing", "--from-beginning", "--timeout", "3")
    assert shown.returncode == 0 and shown.stdout.strip(), shown.stderr
    nothing = hookline(config, "tail", "events.billing", "--timeout", "2")
    assert nothing.returncode == 1 and "no event within" in nothing.stderr


@pytest.mark.parametrize("scenario", ["reservation-cancel"])
async def test_demo_reports_a_failure_the_moment_it_arrives(
    loop: tuple[Path, str], scenario: str
) -> None:
    """A command the platform refuses: the demo shows reservation.command.failed and exits 1 at
    once, not after its step timeout."""
    config, _ = loop
    async with httpx.AsyncClient() as client:
        fault = await client.post(
            f"{simulator(config, 'opentable')}/_sim/faults",
            json={"path": "/v2/reservations", "method": "POST", "status": 400, "count": 1},
        )
    assert fault.status_code == 201, fault.text
    # A step timeout far beyond the subprocess timeout: only reporting the failure ends it in time.
    result = hookline(config, "demo", scenario, "--timeout", "600", timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗ reservation.command.failed" in result.stdout
    assert "hookline trace" in result.stderr and "Traceback" not in result.stderr


async def test_colt_callbacks_join_the_chain_of_the_order_they_are_about(
    loop: tuple[Path, str],
) -> None:
    """The demo's order: Colt's state_changed callbacks hang under colt.order.submitted (the chain
    index), and the SMS the completed one led to under that callback, all in the order's chain."""
    config, bootstrap = loop
    played = hookline(config, "demo", "colt-order", "--timeout", "45")
    assert played.returncode == 0, played.stdout + played.stderr
    settings = load_settings(str(config))
    hops = await read_records(settings, bootstrap, None)
    submit = max(
        (h for h in hops if h.attribute("type") == "colt.order.submit"),
        key=lambda h: h.stored.timestamp,
    )
    tree = json.loads(hookline(config, "trace", submit.id, "--json").stdout)
    [root] = tree["roots"]
    assert root["type"] == "colt.order.submit"
    kinds = [(c["kind"], c["type"]) for c in root["children"]]
    assert ("http", "hookline.http.call") in kinds and ("event", "colt.order.submitted") in kinds
    submitted = next(c for c in root["children"] if c["type"] == "colt.order.submitted")
    callbacks = [c for c in submitted["children"] if c["kind"] == "webhook"]
    assert {c["type"] for c in callbacks} == {"colt.order.state_changed"} and len(callbacks) >= 2
    assert all(
        c["causationid"] == submitted["id"] and c["correlationid"] == submit.id for c in callbacks
    )
    assert any(g["type"] == "sms.send" for c in callbacks for g in c["children"])
