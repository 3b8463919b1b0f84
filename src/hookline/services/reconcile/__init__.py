"""Reconciliation: ask the providers' status APIs about what a lost callback left open (docs/reconcile.md)."""
