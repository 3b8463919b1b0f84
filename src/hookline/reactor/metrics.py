"""Reactor metrics: what each rule did with the events it saw."""

from prometheus_client import Counter

from hookline.observability.metrics import REGISTRY

COMMANDS = Counter(
    "hookline_reactor_commands_total", "Commands emitted by rule.", ["rule"], registry=REGISTRY
)
SKIPPED = Counter(
    "hookline_reactor_skipped_total",
    "Events a rule did not turn into a command, by reason.",
    ["rule", "reason"],
    registry=REGISTRY,
)
