"""Random ids from the OS CSPRNG, read in blocks instead of one syscall per id.

Each request needs four random values (request id, event id, trace id, span
id). One ``getrandom`` syscall each, plus building ``uuid.UUID`` objects, was
~14 % of the ingress CPU under load (syscalls are dear in a VM). The bytes are
the same kernel CSPRNG output, each used once; a forked child starts on a
fresh block so parent and child never share one.
"""

from __future__ import annotations

import os
import threading

_BLOCK = 4096


class _Pool:
    __slots__ = ("_buffer", "_lock", "_offset")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0

    def take(self, size: int) -> bytes:
        with self._lock:
            start = self._offset
            end = start + size
            if end > len(self._buffer):
                self._buffer = os.urandom(max(_BLOCK, size))
                start, end = 0, size
            self._offset = end
            return self._buffer[start:end]

    def reset(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0


_POOL = _Pool()
os.register_at_fork(after_in_child=_POOL.reset)


def token_hex(size: int) -> str:
    """``size`` random bytes as hex (as :func:`secrets.token_hex`)."""
    return _POOL.take(size).hex()


def uuid4_hex() -> str:
    """A random (version 4) UUID as 32 hex digits, as ``uuid.uuid4().hex``."""
    raw = bytearray(_POOL.take(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


def uuid4_str() -> str:
    """A random (version 4) UUID in its canonical form, as ``str(uuid.uuid4())``."""
    h = uuid4_hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
