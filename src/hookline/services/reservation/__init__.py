"""Reservations and charging across OpenTable, Recreation.gov and Shell Recharge (docs/providers/reservations.md)."""

# ``worker.create_worker`` is what ``hookline worker NAME`` starts; ``handlers`` holds the work.
__all__ = ["handlers", "worker"]
