"""The Starlette receiver: verify, normalize, publish, then acknowledge."""

from hookline.ingress.app import create_app

__all__ = ["create_app"]
