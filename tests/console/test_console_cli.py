"""The console's views and actions from the command line, against the same `hookline run`:
the same functions answer, so the same things show."""

from __future__ import annotations

import json
import time

import httpx

from tests.console.conftest import Running


def test_rejected_list_shows_a_forged_delivery_with_its_reason(running: Running) -> None:
    """`hookline rejected list --json` lists a refused request with its reason and masked headers."""
    answer = httpx.post(
        f"{running.base}/webhooks/github-repo",
        content=b'{"zen": "forged"}',
        headers={"content-type": "application/json", "x-github-event": "push",
                 "x-github-delivery": "d-cli", "x-hub-signature-256": "sha256=" + "0" * 64},
    )  # fmt: skip
    assert answer.status_code == 401
    deadline = time.monotonic() + 20
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline and not rows:
        listed = running.cli("rejected", "list", "--source", "github-repo", "--json")
        assert listed.returncode == 0, listed.stderr
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows, "the rejection never showed up"
    assert rows[0]["reason"] == "unverified" and rows[0]["detail"] == "mismatch"
    assert rows[0]["headers"]["x-hub-signature-256"] == "***"  # type: ignore[index]


def test_breakers_list_and_reset_ask_the_running_server(running: Running) -> None:
    """`hookline breakers list|reset` speak to the server's /admin/breakers with the token."""
    url = ["--url", running.base, "--token", running.token]
    listed = running.cli("breakers", *url, "list")
    assert listed.returncode == 0, listed.stderr
    assert "colt" in listed.stdout
    reset = running.cli("breakers", *url, "reset", "colt")
    assert (reset.returncode, reset.stdout.strip()) == (0, "colt is closed")
    refused = running.cli("breakers", "--url", running.base, "--token", "wrong", "list")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "hookline: the server refused the admin token"
    unknown = running.cli("breakers", *url, "reset", "nobody")
    assert unknown.returncode == 1 and "nobody" in unknown.stderr


def test_events_list_and_show_follow_a_delivery(running: Running) -> None:
    """`hookline events list --source` finds a signed delivery; `events show` prints it."""
    sent = running.cli("send", "billing")
    assert sent.returncode == 0, sent.stderr
    event_id = json.loads(sent.stdout.strip().splitlines()[-1].split(" ", 1)[1])["id"]
    listed = running.cli("events", "list", "--source", "billing", "--q", event_id, "--json")
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [event_id]
    shown = running.cli("events", "show", event_id)
    assert shown.returncode == 0, shown.stderr
    assert "billing.invoice.paid at hookline.events.billing[" in shown.stdout
    missing = running.cli("events", "show", "no-such-id")
    assert (missing.returncode, missing.stderr.strip()) == (
        1,
        "hookline: no event or command with id no-such-id",
    )
