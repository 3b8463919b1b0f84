"""Logging, metrics, tracing and health."""

# Modules, imported on use: ``logging`` and ``masking`` (structured, masked logs),
# ``metrics`` and ``loop_metrics`` (the registry and its hot-path collectors),
# ``exposition`` (``GET /metrics``), ``context`` and ``entropy`` (ids).
__all__ = ["context", "entropy", "exposition", "logging", "loop_metrics", "masking", "metrics"]
