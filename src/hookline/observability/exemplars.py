"""Exemplars: the ids that tie one metric sample to the command, request and trace behind it.

OpenMetrics allows one exemplar per counter series or histogram bucket, whose
label names and values together may hold at most 128 UTF-8 characters
(prometheus_client refuses more with a ValueError). hookline's own ids fit all
three: a command id (a 36-character UUID) as ``command_id``, a W3C trace id
(32 hex) as ``trace_id`` and an ingress request id (32 hex) as ``request_id``
add up to exactly 128. A longer id, e.g. a caller's own ``X-Request-ID`` (up
to 128 characters), would not fit: ids are taken in order of use, and one that
would pass the limit is left out whole (a cut id finds nothing), so a
``command_id`` is never lost to a long request id.
"""

from __future__ import annotations

from collections.abc import Iterable

from hookline.observability import tracing
from hookline.observability.context import HANDLING, REQUEST_ID

__all__ = ["LIMIT", "current", "fit"]

LIMIT = 128


def fit(ids: Iterable[tuple[str, str | None]]) -> dict[str, str] | None:
    """The given ``(name, value)`` pairs, in order, leaving out any that would pass :data:`LIMIT`."""
    exemplar: dict[str, str] = {}
    used = 0
    for name, value in ids:
        if not value:
            continue
        size = len(name) + len(value)
        if used + size > LIMIT:
            continue
        exemplar[name] = value
        used += size
    return exemplar or None


def current() -> dict[str, str] | None:
    """The command, trace and request ids of the code running now (None: no id known)."""
    handling = HANDLING.get()
    request_id = REQUEST_ID.get()
    command_id = None
    if handling is not None:
        command_id = handling[0]
        request_id = request_id or handling[2]
    trace = tracing.trace_ids() if tracing.ENABLED else None
    return fit(
        (
            ("command_id", command_id),
            ("trace_id", trace[0] if trace is not None else None),
            ("request_id", request_id),
        )
    )
