"""Colt ordering and monitoring: the handlers of worker ``colt``."""

# ``worker.create_worker`` is what ``hookline worker NAME`` starts; ``handlers`` holds the work.
__all__ = ["handlers", "worker"]
