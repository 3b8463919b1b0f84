"""What a message type is: a CloudEvent ``type`` with its data model, topic and key."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

__all__ = ["MessageType"]


@dataclass(frozen=True)
class MessageType:
    """One CloudEvent ``type``: its ``data`` model, topic (without prefix) and key."""

    type: str
    model: builtins.type[BaseModel]
    kind: Literal["event", "command"]
    topic: str  # e.g. "events.sms", "commands.colt"
    key: str  # what the partition key / subject is, in words: "order id"
    description: str = ""
