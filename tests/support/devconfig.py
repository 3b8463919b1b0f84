"""The shipped development configuration moved onto free ports.

Tests and benches that run `hookline run` (or its parts) must not take the ports a
user's own `hookline run` listens on (8000 and 81xx), nor each other's.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from hookline.bus.broker import free_port
from hookline.config.loader import dev_config
from hookline.providers.simulators import DEFAULT_PORTS

# Where the shipped configuration listens: the ingress and each provider's simulator.
DEV_PORTS: dict[str, int] = {
    "ingress": int(yaml.safe_load(dev_config().read_text())["server"]["port"]),
    **DEFAULT_PORTS,
}


def on_free_ports() -> tuple[str, dict[str, int]]:
    """The shipped configuration's text with every port of DEV_PORTS moved to a free one, and
    the new port of each (URLs, ``port:`` keys and ``public_base_url`` alike)."""
    text = dev_config().read_text()
    ports = {name: free_port() for name in DEV_PORTS}
    for name, port in ports.items():
        text = re.sub(rf"(?<=[:\s]){DEV_PORTS[name]}\b", str(port), text)
    return text, ports


def write_on_free_ports(folder: Path) -> tuple[Path, int]:
    """``folder/hookline.yaml``: the shipped configuration on free ports, its embedded broker
    on a free port too (returned with the path)."""
    text, _ = on_free_ports()
    kafka_port = free_port()
    text = text.replace(
        "bootstrap_servers: null", f"bootstrap_servers: null\n  embedded_port: {kafka_port}"
    )
    path = folder / "hookline.yaml"
    path.write_text(text)
    return path, kafka_port
