"""Colt ordering and monitoring: the handlers of worker ``colt``."""
