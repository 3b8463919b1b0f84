"""A rotated Mitake callback token reaches both ends: the ingress verifies it, the worker sends it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from hookline.bus.broker import EmbeddedBroker
from hookline.worker.component import watch_secrets
from tests.config.test_secret_watch import KubernetesSecretVolume
from tests.services.sms.loop import MITAKE_TOKEN, sms_loop

NEW_TOKEN = "mitake-callback-token-rotated-4567"


async def test_a_rotated_callback_token_is_put_in_the_next_report_url(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    """After a Secret update the worker's next Mitake send carries the new token, which the
    ingress (no longer accepting the old one) verifies: the message is still delivered."""
    volume = KubernetesSecretVolume(tmp_path)
    volume.write(token=MITAKE_TOKEN)

    def tweak(raw: dict[str, Any]) -> None:
        raw["sources"]["mitake-dlr"]["verify"]["secrets"] = [volume.ref("token")]
        raw["providers"]["mitake"]["callback_token"] = volume.ref("token")
        raw["secrets"] = {"reload_interval_seconds": 0.1, "previous_valid_seconds": 0}

    async with sms_loop(broker.bootstrap_servers, tweak=tweak) as loop:
        watcher = watch_secrets(loop.settings)
        try:
            before = loop.command("+886912345678", provider="mitake")
            await loop.send(before)
            await loop.wait_event("sms.message.delivered", before.id)

            volume.write(token=NEW_TOKEN)
            url = f"{loop.urls['ingress']}/webhooks/mitake-dlr"
            query = "ref=m-x&msgid=1&dstaddr=0912345678&StatusFlag=0&statuscode=0"
            deadline = time.monotonic() + 30
            while (await loop.http.get(f"{url}?token={MITAKE_TOKEN}&{query}")).status_code != 401:
                assert time.monotonic() < deadline, "the ingress still accepts the old token"
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # the worker's watcher polls on its own schedule

            after = loop.command("+886912345678", provider="mitake")
            await loop.send(after)
            delivered = await loop.wait_event("sms.message.delivered", after.id, timeout=30)
            assert delivered.provider == "mitake"
        finally:
            await watcher.stop()
