"""Every package has a public face: ``__all__`` names exactly things that exist."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import hookline


def _packages() -> list[str]:
    found = ["hookline"]
    for info in pkgutil.walk_packages(hookline.__path__, "hookline."):
        if info.ispkg:
            found.append(info.name)
    return sorted(found)


@pytest.mark.parametrize("name", _packages())
def test_package_declares_all_and_each_name_exists(name: str) -> None:
    """``__all__`` is declared, has no duplicates, and each entry is an attribute or a submodule."""
    package = importlib.import_module(name)
    exported = getattr(package, "__all__", None)
    assert exported is not None, f"{name}/__init__.py declares no __all__"
    assert len(set(exported)) == len(exported)
    for member in exported:
        if not hasattr(package, member):
            importlib.import_module(f"{name}.{member}")
