"""The worker runtime: consume at least once, act exactly once, keep per-key order, park what fails.

- :mod:`.handlers`: the handler contract (``HandlerContext``, ``HandlerRegistry``);
- :mod:`.registry`: ``WorkerSpec`` and ``WORKERS``, one line per worker;
- :mod:`.runtime`: ``Worker``, one consumer-group member;
- :mod:`.fate`: the one place that decides handled / retry tier / dead letter;
- :mod:`.offsets`: the one place that decides what may be committed;
- :mod:`.lanes`: per-key ordering with concurrency across keys;
- :mod:`.idempotency`: ``in_progress``/``done`` stores (memory, Redis);
- :mod:`.parking`: retry tiers and dead-letter headers; :mod:`.dlq`: reading and replaying them.
"""

from hookline.worker.commands import CommandHandlers, Failure
from hookline.worker.handlers import Handler, HandlerContext, HandlerRegistry
from hookline.worker.registry import WORKERS, WorkerSpec
from hookline.worker.runtime import Worker

__all__ = [
    "WORKERS",
    "CommandHandlers",
    "Failure",
    "Handler",
    "HandlerContext",
    "HandlerRegistry",
    "Worker",
    "WorkerSpec",
]
