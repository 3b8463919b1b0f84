"""``lazy("package.module:function")``: a callable that imports its target on first call.

Registries list workers, simulators and provider clients with it, so that
reading a registry (the ingress does, to route webhooks) imports none of the
code behind its entries.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

__all__ = ["lazy"]


def lazy(target: str) -> Callable[..., Any]:
    """``"package.module:function"`` → a callable that imports it and calls it with its arguments."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"lazy target must look like 'package.module:function', got {target!r}")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module_name), attribute)(*args, **kwargs)

    call.__qualname__ = f"lazy({target})"
    return call
