"""``hookline broker``: the embedded Kafka-compatible broker alone."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from hookline.bus.broker import EmbeddedBroker
from hookline.cli.process import StopSignals
from hookline.config.loader import load_settings


def register(sub: Any) -> None:
    parser = sub.add_parser("broker", help="run the embedded Kafka-compatible broker (in memory)")
    parser.add_argument("--port", type=int, help="port (default: kafka.embedded_port, 9092)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace) -> int:
    port = args.port or load_settings(args.config).kafka.embedded_port
    # The signal is awaited on the event loop, not handled inside Popen.wait():
    # a handler calling wait() while the main thread is in it deadlocks and
    # leaves the broker a zombie.
    signals = StopSignals()
    broker = EmbeddedBroker(port=port, host=args.host).start()
    signalled = asyncio.ensure_future(signals.wait())
    exited = asyncio.ensure_future(broker.wait())
    try:
        print(
            f"broker  {broker.bootstrap_servers}  "
            "(in memory: topics and events vanish when it stops)"
        )
        print(
            "set kafka.bootstrap_servers or HOOKLINE_KAFKA__BOOTSTRAP_SERVERS to use it; "
            "Ctrl-C stops it",
            flush=True,
        )
        await asyncio.wait([signalled, exited], return_when=asyncio.FIRST_COMPLETED)
    finally:
        signalled.cancel()
        exited.cancel()
        broker.stop()  # SIGTERM, then SIGKILL after a grace; reaps the child either way
    if signalled.cancelled() or not signalled.done():
        code = broker.process.returncode if broker.process is not None else 1
        print(f"hookline: the broker exited on its own (code {code})", file=sys.stderr)
        return 1
    return 0
