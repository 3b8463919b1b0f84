"""hookline: verified webhooks in, CloudEvents on Kafka, resilient workers out."""

__version__ = "0.1.0"
