"""Scripted scenarios that drive the running loop and show each step as it happens."""

# Modules, imported on use: ``runner`` (a run and its steps), ``scenarios`` (the scripts).
__all__ = ["runner", "scenarios"]
