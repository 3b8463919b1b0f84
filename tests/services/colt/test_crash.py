"""A worker killed between Colt's answer to a submit and its done mark orders exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.providers.colt.conftest import StartColt
from tests.services.colt.conftest import running_worker
from tests.services.colt.test_workflow import ORDER, QUOTE, answer

SUBMIT = "/ebonding/v5/orders/submit"


class HoldSubmit:
    """Holds the first submit answer after Colt made the order, until the test releases it.

    Sits outside the simulator, so the order exists and the worker is still waiting
    for the answer: exactly the window between the effect and the ``done`` mark.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.answered = asyncio.Event()
        self.release = asyncio.Event()
        self._held = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != SUBMIT or self._held:
            await self.app(scope, receive, send)
            return
        self._held = True

        async def held(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.answered.set()
                await self.release.wait()
            await send(message)

        await self.app(scope, receive, held)


@pytest.mark.slow
async def test_sigkill_between_submit_and_done_leaves_one_order(
    start_colt: StartColt, tmp_path: Path
) -> None:
    """SIGKILL after Colt created the order; the redelivered command finds it by its quote: one order, one result."""
    hold: dict[str, HoldSubmit] = {}

    def wrap(app: ASGIApp) -> ASGIApp:
        hold["app"] = HoldSubmit(app)
        return hold["app"]

    async with start_colt(wrap=wrap) as colt:
        async with running_worker(colt.settings):
            quote = await answer(colt, await colt.command("colt.quote.create", QUOTE))
        config = tmp_path / "hookline.yaml"
        raw: dict[str, Any] = {**colt.raw_settings, "observability": {"log_level": "warning"}}
        config.write_text(yaml.safe_dump(raw))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hookline",
            "--config",
            str(config),
            "worker",
            "colt",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            command = await colt.command("colt.order.submit", {"quote_id": quote.subject, **ORDER})
            await asyncio.wait_for(hold["app"].answered.wait(), timeout=60)
            os.kill(process.pid, signal.SIGKILL)
            await asyncio.wait_for(process.wait(), timeout=10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        hold["app"].release.set()
        assert len((await colt.state())["entities"]["orders"]) == 1

        async with running_worker(colt.settings):
            submitted = await answer(colt, command)
        events = await colt.events()
        state = await colt.state()

    assert submitted.type == "colt.order.submitted"
    assert list(state["entities"]["orders"]) == [submitted.subject]
    assert submitted.data["recovered"] is True
    # The redelivery reads the quote, which names the order: no second submit at all.
    assert state["requests"]["by_route"][f"POST {SUBMIT}"] == 1
    assert [e.subject for e in events if e.type == "colt.order.submitted"] == [submitted.subject]
