"""Dotted paths into an event (``data.customer.phone``); the reader lives in :mod:`hookline.messages.templates`."""

from __future__ import annotations

from hookline.messages.templates import MISSING, lookup

__all__ = ["MISSING", "lookup"]
