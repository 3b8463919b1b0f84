"""The console in a real browser against `hookline run`: log in, find what arrived and what was
refused, follow an event's chain, replay a dead letter, reset a breaker — at desktop and phone width.

The tests run in order on one `hookline run` and one Chromium (module state is the session).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.conftest import Running
from tests.console.support import PHONE, QUOTE, Pages, clear_fault, command, fault, publish

PAGES = ("/console", "/console/events", "/console/rejected", "/console/dlq", "/console/breakers",
         "/console/reconcile", "/console/sources")  # fmt: skip
seen: dict[str, Any] = {}


@pytest.fixture(scope="module")
def pages(browser: Any, running: Running, artifacts: Path) -> Pages:
    return Pages(browser, running.base, artifacts)


def test_login_by_keyboard_lands_on_the_overview(pages: Pages, running: Running) -> None:
    """A page asked for without a session shows the login form; the token typed + Enter logs in."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.wait import WebDriverWait

    driver: WebDriver = pages.driver
    pages.open("/console/events")
    assert "/console/login" in driver.current_url
    assert pages.unlabelled_controls() == []
    pages.shot("login")
    field = driver.switch_to.active_element  # autofocus: the keyboard starts in the token field
    assert field.get_attribute("name") == "token"
    field.send_keys(running.token + Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: "/console/login" not in d.current_url, pages.text)
    assert driver.current_url.endswith("/console/events")
    assert "Log out" in pages.text
    cookie = driver.get_cookie("hookline_console")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert running.token not in cookie["value"]


def test_signed_and_forged_webhooks_are_both_found(
    pages: Pages, running: Running, tmp_path: Path
) -> None:
    """The signed delivery is an event with its Kafka coordinates; the forged one is a rejected
    request with its reason, client address and masked headers."""
    payload = tmp_path / "paid.json"
    payload.write_text(
        json.dumps(
            {
                "type": "invoice.paid",
                "timestamp": "2026-11-23T10:15:00Z",
                "data": {"id": "inv_console_1", "amount": 4200, "phone": PHONE},
            }
        )
    )
    sent = running.cli("send", "billing", str(payload))
    assert sent.returncode == 0, sent.stderr
    event_id = json.loads(sent.stdout.strip().splitlines()[-1].split(" ", 1)[1])["id"]
    seen["event_id"] = event_id
    forged = httpx.post(
        f"{running.base}/webhooks/billing",
        content=b'{"type": "invoice.paid", "data": {"id": "inv_forged"}}',
        headers={"content-type": "application/json", "webhook-id": "msg_forged",
                 "webhook-timestamp": str(int(time.time())),
                 "webhook-signature": "v1,Zm9yZ2VkLXNpZ25hdHVyZS1ieS1hbi1hdHRhY2tlcg==",
                 "x-contact": f"call {PHONE}"},
    )  # fmt: skip
    assert forged.status_code == 401
    seen["forged_signature"] = "Zm9yZ2VkLXNpZ25hdHVyZS1ieS1hbi1hdHRhY2tlcg=="

    pages.until(f"/console/events?q={event_id}", lambda text: event_id in text)
    pages.shot("events")
    pages.click("table.events tbody a")
    assert "hookline.events.billing" in pages.text and event_id in pages.text
    assert PHONE not in pages.html and "inv_console_1" in pages.text
    pages.shot("event")

    pages.until(
        "/console/rejected?source=billing",
        lambda text: "inv_forged" not in text and "mismatch" in text,
    )
    card = pages.text
    assert "signature or timestamp did not verify (mismatch)" in card
    assert "POST /webhooks/billing · from 127.0.0.1" in card
    pages.shot("rejected")


def test_event_page_follows_the_chain_of_a_replayed_dead_letter(
    pages: Pages, running: Running
) -> None:
    """A command the provider refused lands in the DLQ; a dry run writes nothing, the replay
    is handled (its quote appears in the command's chain) and the letter is marked, in
    `hookline dlq list` too."""
    fault(running.sims["colt"], path="/ebonding/v5/quotes/create", method="POST", status=400,
          error_code="INVALID_REQUEST", count=1)  # fmt: skip
    quote = command("colt.quote.create", QUOTE)
    publish(running.kafka, "hookline.commands.colt", quote)
    pages.until("/console/dlq?service=colt", lambda text: "colt.quote.create" in text)
    pages.click(f'input[name="letter"][aria-label="Select {quote.id}"]', navigates=False)
    pages.click('button[value="dry_run"]')
    assert "Dry run: 1 letter(s) would be replayed" in pages.text
    assert "Replayed 1" not in pages.text
    pages.shot("dlq-dry-run")
    pages.click(f'input[name="letter"][aria-label="Select {quote.id}"]', navigates=False)
    pages.click('button[value="replay"]')
    assert "Replayed 1 letter(s)." in pages.text
    assert "replayed 20" in pages.text  # the row's mark: "replayed <date>"
    pages.shot("dlq")

    listed = running.cli("dlq", "list", "--service", "colt", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["replayed"]["by"] for r in rows if r["id"] == quote.id] == ["console"]

    pages.until(f"/console/events?q={quote.id}&kind=commands", lambda text: quote.id in text)
    pages.click("table.events tbody a")
    chain_page = pages.driver.current_url.replace(running.base, "")
    pages.until(chain_page, lambda text: "caused colt.quote.created" in text)
    assert "caused colt.command.failed" in pages.text  # the first, refused attempt
    pages.shot("event-chain")


def test_an_open_breaker_is_shown_and_reset(pages: Pages, running: Running) -> None:
    """SMS gateways answering 503 open their breakers; the page shows it and Reset closes one."""
    sims = [running.sims[name] for name in ("every8d", "mitake", "twilio")]
    faults = [fault(sim, path="/**", status=503, count=0) for sim in sims]
    try:
        publish(
            running.kafka,
            "hookline.commands.sms",
            *(command("sms.send", {"to": PHONE, "body": "console test"}) for _ in range(3)),
        )
        pages.until("/console/breakers", lambda text: "twilio open" in text, timeout=60)
        pages.shot("breakers-open")
    finally:
        # Cleared before the reset: a retry still failing could open it again at once.
        for sim, fault_id in zip(sims, faults, strict=True):
            clear_fault(sim, fault_id)
    pages.click('button[aria-label="Reset the twilio breaker"]')
    assert "Breaker twilio reset: closed." in pages.text
    assert "twilio closed" in pages.text
    pages.shot("breakers")


def test_every_page_at_desktop_and_phone_width(pages: Pages, running: Running) -> None:
    """Each page renders with every control labelled, and at 375 px nothing scrolls sideways."""
    for width, suffix in ((None, ""), (375, "-phone")):
        for path in PAGES:
            pages.driver.set_window_size(1280, 900)
            pages.width(width)
            pages.open(path)
            assert pages.unlabelled_controls() == [], path
            assert not pages.overflows(), f"{path} scrolls sideways at {width or 1280}px"
            name = path.strip("/").replace("/", "-") or "console"
            pages.shot(f"{name}{suffix}")
    pages.width(None)
    pages.driver.set_window_size(1280, 900)


def test_no_secret_signature_or_phone_number_in_any_page(pages: Pages, running: Running) -> None:
    """Every page's HTML, after all of the above: no configured secret, no token, no signature,
    no unmasked phone number."""
    from hookline.config.loader import load_settings
    from hookline.config.secrets import iter_secrets

    settings = load_settings(str(running.config))
    secrets = {secret.get() for _, secret in iter_secrets(settings)} | {running.token}
    forbidden = {*secrets, seen["forged_signature"], PHONE, PHONE[1:], "0912345678"}
    shown = list(PAGES)
    pages.open(f"/console/events?q={seen['event_id']}")
    pages.click("table.events tbody a")
    shown.append(pages.driver.current_url.replace(running.base, ""))
    pages.open("/console/events?type=sms.send")
    pages.click("table.events tbody a")  # a command with a phone number in its data
    shown.append(pages.driver.current_url.replace(running.base, ""))
    pages.open("/console/dlq?service=sms")
    pages.click("table.letters tbody a")  # its dead letter, headers and record
    shown.append(pages.driver.current_url.replace(running.base, ""))
    for path in shown:
        pages.open(path)
        html = pages.html
        leaked = sorted(value for value in forbidden if len(value) >= 6 and value in html)
        assert leaked == [], f"{path} shows {leaked}"
