"""Dotted paths into an event (``data.customer.phone``), read without any evaluation."""

from __future__ import annotations

from typing import Any

MISSING: Any = object()


def lookup(document: Any, path: str) -> Any:
    """The value at ``path`` or :data:`MISSING`; list items by index (``data.items.0``)."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current
