"""The kit's public surface: what provider simulators import."""

from __future__ import annotations

import hookline.sandbox


def test_all_names_exist_and_are_public() -> None:
    """Every name in ``hookline.sandbox.__all__`` is importable, and every public import is listed."""
    for name in hookline.sandbox.__all__:
        assert hasattr(hookline.sandbox, name), name
    public = {
        name
        for name, value in vars(hookline.sandbox).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("hookline.sandbox.")
    }
    assert public <= set(hookline.sandbox.__all__)
