"""Receipts: where the events of a delivery are stored, as the ``202`` (and a duplicate's ``200``) says.

``{"id", "duplicate", "topic", "partition", "offset", "events": [{"id", "topic",
"partition", "offset"}, …]}``: the top-level coordinates are the first event's,
``events`` lists every event of the delivery in order. A duplicate's answer
carries the original's coordinates when the dedup store kept them
(docs/architecture.md#delivery-guarantees); it is the only place they are
remembered, so they travel through the store as the compact text
:func:`encode` writes.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

__all__ = ["Receipt", "StoredEvent", "body", "decode", "encode"]


class StoredEvent(NamedTuple):
    """One event of a delivery and where Kafka stored it (a tuple: built on every accepted request)."""

    id: str
    topic: str
    partition: int
    offset: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
        }


Receipt = tuple[StoredEvent, ...]


def _quoted(text: str) -> str:
    # What json.dumps gives for such text, without its generic encoder (the accepted path).
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text, ensure_ascii=False)


def body(event_id: str, duplicate: bool, receipt: Receipt | None) -> bytes:
    """The JSON answer; without a receipt (a duplicate the store kept no coordinates for),
    only ``id`` and ``duplicate``."""
    quoted = _quoted(event_id)
    head = f'{{"id":{quoted},"duplicate":{"true" if duplicate else "false"}'
    if not receipt:
        return (head + "}").encode()
    if len(receipt) == 1:  # nearly every delivery: each value quoted once
        stored_id, topic, partition, offset = receipt[0]
        where = f'"topic":{_quoted(topic)},"partition":{partition},"offset":{offset}'
        own = quoted if stored_id == event_id else _quoted(stored_id)
        return f'{head},{where},"events":[{{"id":{own},{where}}}]}}'.encode()
    events = ",".join(
        f'{{"id":{_quoted(i)},"topic":{_quoted(t)},"partition":{p},"offset":{o}}}'
        for i, t, p, o in receipt
    )
    _, topic, partition, offset = receipt[0]
    where = f'"topic":{_quoted(topic)},"partition":{partition},"offset":{offset}'
    return f'{head},{where},"events":[{events}]}}'.encode()


def encode(receipt: Receipt) -> str:
    """Compact text for a dedup store: ``[[id, topic, partition, offset], …]``."""
    # What json.dumps(..., separators=(",", ":")) writes, without its generic encoder.
    rows = ",".join(f"[{_quoted(i)},{_quoted(t)},{p},{o}]" for i, t, p, o in receipt)
    return f"[{rows}]"


def decode(text: str | bytes | None) -> Receipt | None:
    """What :func:`encode` wrote; None for anything else (a value written before receipts)."""
    if not text:
        return None
    try:
        rows = json.loads(text)
        return tuple(StoredEvent(str(i), str(t), int(p), int(o)) for i, t, p, o in rows)
    except (ValueError, TypeError):
        return None
