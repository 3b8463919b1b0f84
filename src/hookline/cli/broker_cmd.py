"""``hookline broker``: the embedded Kafka-compatible broker alone."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from hookline.bus.broker import EmbeddedBroker
from hookline.config.loader import load_settings


def register(sub: Any) -> None:
    parser = sub.add_parser("broker", help="run the embedded Kafka-compatible broker (in memory)")
    parser.add_argument("--port", type=int, help="port (default: kafka.embedded_port, 9092)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    port = args.port or load_settings(args.config).kafka.embedded_port
    broker = EmbeddedBroker(port=port, host=args.host).start()
    print(
        f"broker  {broker.bootstrap_servers}  (in memory: topics and events vanish when it stops)"
    )
    print(
        "set kafka.bootstrap_servers or HOOKLINE_KAFKA__BOOTSTRAP_SERVERS to use it; Ctrl-C stops it"
    )
    sys.stdout.flush()

    def stop(signum: int, frame: Any) -> None:
        broker.stop()

    signal.signal(signal.SIGTERM, stop)
    try:
        assert broker.process is not None
        return broker.process.wait()
    except KeyboardInterrupt:
        broker.stop()
        return 0
