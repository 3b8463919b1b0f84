"""The console's Reconciliation page in a real browser against its own `hookline run`: empty at
first, then the open entities, reconciled events and stale entities of real SMS messages whose
delivery reports the simulators dropped; and nothing of it without the admin token.

The module starts its own `hookline run` (the development configuration, with the reconciler
made quick for Twilio and Mitake): the page's empty state and counters need a run no other
test has sent SMS through. The tests run in order on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from hookline.console import auth
from tests.console.support import Pages, command, publish
from tests.support.devconfig import write_on_free_ports
from tests.support.run import clean_environment, hookline_run

TOKEN = "console-reconcile-admin-token-0123456789"
# Twilio is asked after 2 s of quiet, Mitake's message goes stale after 4 s, Every8d's is
# left open (asked only after an hour): each section of the page has a row to show.
RECONCILE = {
    "interval_seconds": 1,
    "providers": {
        "twilio": {"after_seconds": 2},
        "every8d": {"after_seconds": 3600},
        "mitake": {"after_seconds": 3600, "give_up_after_seconds": 4},
    },
}
ROUTES = {
    "twilio": {"to": "+14155550123"},
    "every8d": {"to": "+886912345678"},
    "mitake": {"to": "+886912345678", "provider": "mitake"},
}
seen: dict[str, Any] = {}


class Run:
    def __init__(self, base: str, kafka: str, sims: dict[str, str]) -> None:
        self.base, self.kafka, self.sims = base, kafka, sims


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("console-reconcile")
    path, kafka_port = write_on_free_ports(folder)
    raw = yaml.safe_load(path.read_text())
    raw["admin_token"] = TOKEN
    raw.setdefault("services", {})["reconcile"] = RECONCILE
    path.write_text(yaml.safe_dump(raw))
    sandbox = raw["sandbox"]
    sims = {
        name: f"http://{sandbox['host']}:{spec['port']}"
        for name, spec in sandbox["providers"].items()
    }
    # The open-entity store of a run without Redis lives under the state directory: its own.
    env = {**clean_environment(), "XDG_STATE_HOME": str(folder / "state")}
    with hookline_run(path, env):
        yield Run(
            f"http://{raw['server']['host']}:{raw['server']['port']}",
            f"127.0.0.1:{kafka_port}",
            sims,
        )


@pytest.fixture(scope="module")
def pages(browser: Any, run: Run, artifacts: Path) -> Iterator[Pages]:
    pages = Pages(browser, run.base, artifacts)
    pages.open("/console/login")
    pages.driver.delete_all_cookies()  # another module's session is not this run's
    yield pages
    pages.open("/console/login")
    pages.driver.delete_all_cookies()


def _admin_open(run: Run) -> dict[str, Any]:
    answer = httpx.get(
        f"{run.base}/admin/reconcile/open",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def _row(pages: Pages, css: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [
        cell.text for cell in pages.driver.find_elements(By.CSS_SELECTOR, f"{css} th, {css} td")
    ]


def test_without_a_session_the_page_shows_nothing(pages: Pages, run: Run) -> None:
    """Logged out, the page is the login form (and comes back after the login link); the JSON
    it mirrors answers 401 without the bearer token, as do a forged cookie and a wrong token."""
    pages.open("/console/reconcile")
    assert urlsplit(pages.driver.current_url).path == "/console/login"
    assert "Reconciliation" not in pages.text
    with httpx.Client(base_url=run.base, timeout=30) as client:
        for cookies in ({}, {auth.COOKIE: "1.forged.0000"}):
            client.cookies.clear()
            client.cookies.update(cookies)
            answer = client.get("/console/reconcile")
            assert answer.status_code == 303
            assert answer.headers["location"] == "/console/login?next=%2Fconsole%2Freconcile"
        client.cookies.clear()
        assert client.get("/admin/reconcile/open").status_code == 401
        wrong = {"Authorization": f"Bearer {TOKEN}x"}
        assert client.get("/admin/reconcile/open", headers=wrong).status_code == 401
    pages.open(f"/console/login?token={TOKEN}&next=%2Fconsole%2Freconcile")
    assert urlsplit(pages.driver.current_url).path == "/console/reconcile"
    assert "Log out" in pages.text


def test_empty_before_anything_was_started(pages: Pages, run: Run) -> None:
    """Nothing sent yet: nothing open, no check made; the nav and the overview lead here."""
    pages.open("/console")
    assert "Nothing open." in pages.text
    pages.click('nav a[href="/console/reconcile"]')
    assert pages.driver.find_element("css selector", "h1").text == "Reconciliation"
    text = pages.text
    assert "Nothing is open" in text
    assert "No status check yet since this process started." in text
    assert "Oldest open" not in text
    assert pages.unlabelled_controls() == []
    pages.shot("reconcile-empty")
    assert _admin_open(run)["open"] == 0


def test_open_reconciled_and_stale_entities_of_real_messages(pages: Pages, run: Run) -> None:
    """Delivery reports dropped by all three SMS simulators: Twilio's message is reconciled
    (published), Mitake's goes stale, Every8d's stays open and is listed with what the store
    holds, the same as GET /admin/reconcile/open says."""
    for name in ROUTES:
        held = httpx.post(f"{run.sims[name]}/_sim/callbacks", json={"drop": True}, timeout=10)
        held.raise_for_status()
    commands = {
        name: command("sms.send", {"body": "console reconcile test", **route})
        for name, route in ROUTES.items()
    }
    publish(run.kafka, "hookline.commands.sms", *commands.values())
    seen["commands"] = {name: c.id for name, c in commands.items()}

    def settled(text: str) -> bool:
        twilio = _row(pages, "#reconciled-twilio")
        return (
            commands["every8d"].id in text
            and _row(pages, "#reconciled-mitake")[:4] == ["mitake", "0", "0", "1"]
            and len(twilio) == 5
            and int(twilio[1]) >= 1
            and not pages.driver.find_elements("css selector", "#open-twilio")
        )

    pages.until("/console/reconcile", settled, timeout=90)
    pages.shot("reconcile")

    api = _admin_open(run)
    assert api["open"] == 1 and api["by_provider"] == {"every8d": 1}
    (entity,) = api["entities"]
    # Open by provider and age: one Every8d message, younger than five minutes.
    assert _row(pages, "#open-every8d") == ["every8d", "1", "0", "0", "0", "1"]
    # The oldest open: what the store holds about it.
    cells = _row(pages, "table.open tbody tr")
    assert cells[:5] == [
        "every8d",
        entity["entity_id"],
        commands["every8d"].id,
        "sms.message",
        entity["status"],
    ]
    assert re.fullmatch(r"\d+ (s|min \d\d s)", cells[5]), cells  # its age
    assert cells[7] == "0"  # asked only after an hour: never checked
    # What reconciliation did, per provider: Twilio's delivery found by a status check (its
    # "sent" too, when the first check came before the simulator delivered).
    twilio = _row(pages, "#reconciled-twilio")
    assert twilio[0] == "twilio" and twilio[1] in ("1", "2") and twilio[2:4] == ["0", "0"]
    assert re.search(r"\b[12] changed\b", twilio[4]), twilio
    assert _row(pages, "#reconciled-mitake")[:4] == ["mitake", "0", "0", "1"]
    assert not pages.driver.find_elements("css selector", "#reconciled-every8d")

    # The subject leads to the message's events; the overview counts the same.
    pages.click("table.open tbody a")
    pages.until(
        urlsplit(pages.driver.current_url)._replace(scheme="", netloc="").geturl(),
        lambda text: "sms.message.accepted" in text,
    )
    pages.open("/console")
    assert "1 open, the oldest for" in pages.text
    assert re.search(r"[12] published, 0 duplicate, 1 stale\.", pages.text), pages.text
    pages.shot("overview-reconcile")

    # A provider filter lists only its own.
    pages.open("/console/reconcile?provider=twilio")
    assert "None open for twilio." in pages.text


def test_the_page_at_phone_width(pages: Pages, run: Run) -> None:
    """At 375 px nothing scrolls sideways; each entity is a card with its fields named."""
    pages.width(375)
    try:
        pages.open("/console/reconcile")
        assert not pages.overflows()
        assert seen["commands"]["every8d"] in pages.text
        labels = pages.driver.execute_script(
            "return [...document.querySelectorAll('table.open tbody td')]"
            ".map(td => getComputedStyle(td, '::before').content);"
        )
        assert labels[:3] == ['"Provider"', '"Entity id"', '"Subject"'], labels
        pages.shot("reconcile-phone")
    finally:
        pages.width(None)
        pages.driver.set_window_size(1280, 900)


def test_no_phone_number_or_token_on_the_page(pages: Pages, run: Run) -> None:
    """The store keeps each message's number (for the check); the page never shows it."""
    pages.open("/console/reconcile")
    html = pages.html
    for value in ("+886912345678", "886912345678", "0912345678", "+14155550123", TOKEN):
        assert value not in html
