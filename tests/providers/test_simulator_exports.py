"""Every simulator module and simulator kit module has a public face: ``__all__`` naming what exists."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

import pytest

import hookline.providers
from hookline.providers.simulators import SIMULATORS as REGISTERED

KITS = (
    "hookline.providers._reservation.simdesk",
    "hookline.providers._reservation.simkit",
    "hookline.providers._sms.sim_world",
    "hookline.providers._sms.simkit",
)
SIMULATORS = tuple(
    f"hookline.providers.{info.name}.simulator"
    for info in pkgutil.iter_modules(hookline.providers.__path__)
    if info.ispkg and importlib.util.find_spec(f"hookline.providers.{info.name}.simulator")
)


def test_every_provider_with_a_simulator_is_found() -> None:
    """The sweep below sees the simulators of the registered providers (it is not vacuous)."""
    assert {name.split(".")[2] for name in SIMULATORS} >= set(REGISTERED)


@pytest.mark.parametrize("name", sorted((*SIMULATORS, *KITS)))
def test_module_declares_all_and_each_name_exists(name: str) -> None:
    """``__all__`` is declared without duplicates, each name exists, and a simulator exports create_app."""
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} declares no __all__"
    assert len(set(exported)) == len(exported)
    assert [member for member in exported if not hasattr(module, member)] == []
    if name.endswith(".simulator"):
        assert "create_app" in exported
