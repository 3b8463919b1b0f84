"""hookline: verified webhooks in, CloudEvents on Kafka, resilient workers out."""

__all__ = ["__version__"]

__version__ = "0.1.0"
