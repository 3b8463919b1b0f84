"""How many SMS segments a body costs (GSM 03.38 or UCS-2).

A body made only of GSM-7 characters fits 160 per single message and 153 per part
when concatenated (the UDH takes 7); anything else is sent as UCS-2: 70, or 67
per part. Characters of the GSM extension table take two septets, and characters
outside the Basic Multilingual Plane take two UCS-2 code units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Segmentation:
    encoding: Literal["gsm7", "ucs2"]
    units: int  # septets (gsm7) or UTF-16 code units (ucs2)
    segments: int


def _count(units: int, single: int, part: int) -> int:
    if units <= single:
        return 1
    return -(-units // part)


def segment(body: str) -> Segmentation:
    """The encoding a handset gets and the number of segments it is billed."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in body):
        septets = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body)
        return Segmentation("gsm7", septets, _count(septets, 160, 153))
    units = len(body.encode("utf-16-le")) // 2
    return Segmentation("ucs2", units, _count(units, 70, 67))
