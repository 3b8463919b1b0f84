"""What a user would build instead of hookline, measured beside it (bench/ingress.py, bench/worker.py)."""
