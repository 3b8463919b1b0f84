"""Reconciliation: ask the providers' status APIs about what a lost callback left open (docs/reconcile.md)."""

# ``worker.create_worker`` is what ``hookline worker reconcile`` starts; ``engine`` holds the pass.
__all__ = ["config", "engine", "metrics", "worker"]
