"""Reservations and charging across OpenTable, Recreation.gov and Shell Recharge (providers.md §3)."""


# ``worker.create_worker`` is what ``hookline worker NAME`` starts; ``handlers`` holds the work.
__all__ = ["handlers", "worker"]
