"""Reservations and charging across OpenTable, Recreation.gov and Shell Recharge (providers.md §3)."""
