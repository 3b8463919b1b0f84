"""What the console tests share: a page helper over Selenium, commands into Kafka, faults."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from hookline.bus.codec import to_record
from hookline.envelope import CloudEvent, make_event

PHONE = "+886912345678"
QUOTE: dict[str, Any] = {
    "customer": {"account_number": "CUST-12345", "company_name": "Example Corp",
                 "contact_email": "procurement@example.com"},
    "services": [{"service_type": "ethernet", "bandwidth": "1000", "term_months": 36,
                  "locations": {"endpoint_a": {"reference_id": "loc-001", "site_name": "London HQ"},
                                "endpoint_b": {"reference_id": "loc-002", "site_name": "Manchester DC"}},
                  "protection": "protected", "sla": "premium"}],
    "currency": "GBP",
}  # fmt: skip


class Pages:
    """The browser on the console: open a page, wait for text, keep a screenshot of it."""

    def __init__(self, driver: Any, base: str, artifacts: Path) -> None:
        self.driver = driver
        self.base = base
        self.artifacts = artifacts

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    @property
    def html(self) -> str:
        return str(self.driver.page_source)

    @property
    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def shot(self, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        # The whole page, not only the viewport: resize to the document's height first.
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        width = self.driver.execute_script("return window.innerWidth")
        if width < 500:  # an emulated phone: the emulation sets the height too
            metrics = {"width": width, "height": min(int(height), 4000), "deviceScaleFactor": 1,
                       "mobile": True}  # fmt: skip
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        else:
            self.driver.set_window_size(1280, min(max(int(height) + 120, 600), 4000))
        self.driver.save_screenshot(str(path))
        return path

    def until(self, path: str, check: Callable[[str], bool], timeout: float = 40) -> None:
        """Reload ``path`` until ``check(page text)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            self.open(path)
            if check(self.text):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} never showed what was expected:\n{self.text[:3000]}")
            time.sleep(1)

    def width(self, pixels: int | None) -> None:
        """Emulate a screen this wide (a phone is 375 px; headless windows stop at ~500);
        None goes back to the window's own size."""
        if pixels is None:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            return
        metrics = {"width": pixels, "height": 812, "deviceScaleFactor": 1, "mobile": True}
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)

    def click(self, css: str, *, navigates: bool = True) -> None:
        """Click; for a link or a submit button, wait until the next page has replaced this one."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        for attempt in range(3):
            # A page that was still loading can replace the element between find and click
            # (Chromium: "Node with given id does not belong to the document"): find it again.
            try:
                page = self.driver.find_element(By.TAG_NAME, "html")
                self.driver.find_element(By.CSS_SELECTOR, css).click()
                break
            except WebDriverException as exc:
                replaced = isinstance(exc, StaleElementReferenceException) or (
                    "does not belong to the document" in str(exc)
                )
                if not replaced or attempt == 2:
                    raise
            time.sleep(0.2)
        if navigates:
            WebDriverWait(self.driver, 60).until(expected_conditions.staleness_of(page))

    def unlabelled_controls(self) -> list[str]:
        script = """
          return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                         && !(e.tagName === 'BUTTON' && e.textContent.trim()))
            .map(e => e.outerHTML.slice(0, 120));
        """
        return list(self.driver.execute_script(script))

    def overflows(self) -> bool:
        """Whether the page scrolls sideways (a table may, inside its own scroll box)."""
        script = "return document.documentElement.scrollWidth > window.innerWidth + 1;"
        return bool(self.driver.execute_script(script))


def command(type_: str, data: dict[str, Any]) -> CloudEvent:
    identifier = str(uuid.uuid4())
    return make_event(
        id=identifier, source="/tests/console", type=type_, subject=identifier, data=data
    )


def publish(kafka: str, topic: str, *events: CloudEvent) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
        await producer.start()
        try:
            for event in events:
                record = to_record(event, topic)
                await producer.send_and_wait(
                    topic, record.value, key=record.key, headers=record.headers
                )
        finally:
            await producer.stop()

    asyncio.run(send())


def fault(sim: str, **spec: Any) -> str:
    response = httpx.post(f"{sim}/_sim/faults", json=spec, timeout=10)
    response.raise_for_status()
    return str(response.json()["id"])


def clear_fault(sim: str, fault_id: str) -> None:
    httpx.delete(f"{sim}/_sim/faults/{fault_id}", timeout=10).raise_for_status()
