"""The OpenAPI 3.1 description of the ingress's HTTP surface (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hookline import __version__

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _problem(description: str, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer"},
            }
        }
    return response


def document(sources: Iterable[str] = ()) -> dict[str, Any]:
    """The document; with ``sources`` the ``{source}`` parameter lists the configured ones."""
    names = sorted(sources)
    source_schema: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z0-9._-]+$"}
    if names:
        source_schema["enum"] = names
    admin: list[dict[str, list[str]]] = [{"adminToken": []}]
    source_parameter = {
        "name": "source",
        "in": "path",
        "required": True,
        "schema": source_schema,
        "description": "A source configured under sources.<name>.",
    }
    # What a delivery by POST and one by GET answer alike.
    delivery: dict[str, Any] = {
        "202": {
            "description": "Published (after Kafka's acknowledgement).",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
        },
        "401": _problem("Verification failed (the same body whatever the cause)."),
        "403": _problem("The caller's address is not in the source's allow_ips."),
        "404": _problem("Unknown source."),
        "503": _problem("Kafka (or the dedup store) is unavailable; retry later.", retry_after=True),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hookline ingress",
            "version": __version__,
            "description": (
                "Providers POST webhooks to /webhooks/{source} (a few, such as Mitake's delivery "
                "reports, GET it). The request is verified over its raw "
                "bytes with the source's signature scheme, normalized into CloudEvents and published "
                "to Kafka; 202 is sent only after Kafka acknowledged the write."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": {
            "/webhooks/{source}": {
                "post": {
                    "operationId": "receiveWebhook",
                    "summary": "Receive one provider delivery",
                    "parameters": [source_parameter],
                    "requestBody": {
                        "required": True,
                        "description": "The provider's payload, signed as the source's scheme requires.",
                        "content": {
                            "application/json": {"schema": {}},
                            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                        },
                    },
                    "responses": {
                        **delivery,
                        "200": {
                            "description": "A duplicate of a delivery already published, or a provider-specific "
                            "acknowledgement body (Mitake: text/plain).",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Accepted"}
                                },
                                "text/plain": {"schema": {"type": "string"}},
                            },
                        },
                        "400": _problem("The body is not in the content type it claims."),
                        "405": _problem("Only POST (and GET, for providers that deliver by GET)."),
                        "413": _problem("The body exceeds server.max_body_bytes."),
                        "415": _problem("Unsupported content type for this provider."),
                    },
                },
                "get": {
                    "operationId": "receiveWebhookByGet",
                    "summary": "Receive a delivery a provider makes by GET",
                    "description": (
                        "Only for sources whose provider delivers by GET (Mitake's delivery "
                        "reports): the fields travel in the query, there is no body. Every other "
                        "source answers 405 with Allow: POST."
                    ),
                    "parameters": [source_parameter],
                    "responses": {
                        **delivery,
                        "200": {
                            "description": "The provider's acknowledgement body (Mitake: text/plain), "
                            "also for a duplicate.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "405": _problem("This source's provider delivers by POST only."),
                    },
                },
            },
            "/healthz": {
                "get": {
                    "operationId": "liveness",
                    "summary": "The process serves",
                    "responses": {
                        "200": {
                            "description": "Alive.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readiness",
                    "summary": "The producer reaches Kafka",
                    "responses": {
                        "200": {
                            "description": "Ready.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "503": {
                            "description": "Kafka unreachable.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Text exposition format.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/admin/sources": {
                "get": {
                    "operationId": "listSources",
                    "summary": "Configured sources",
                    "security": admin,
                    "responses": {
                        "200": {
                            "description": "Sources with provider, scheme and topic.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "401": _problem("The admin token is missing or wrong."),
                    },
                }
            },
            "/admin/dlq": {
                "get": {
                    "operationId": "deadLetterCounts",
                    "summary": "Dead letters per service: count, reasons, error classes, oldest and newest",
                    "security": admin,
                    "parameters": [
                        {
                            "name": "service",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "Only this service's dead-letter topic.",
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "Counts per dead-letter topic (read from the beginning).",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "401": _problem("The admin token is missing or wrong."),
                        "503": _problem("Kafka is unavailable; retry later.", retry_after=True),
                    },
                }
            },
            "/admin/breakers": {
                "get": {
                    "operationId": "listBreakers",
                    "summary": "Circuit breakers per provider",
                    "security": admin,
                    "responses": {
                        "200": {
                            "description": "Every breaker's state.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "401": _problem("The admin token is missing or wrong."),
                    },
                }
            },
            "/admin/breakers/{name}/reset": {
                "post": {
                    "operationId": "resetBreaker",
                    "summary": "Close a provider's breaker",
                    "security": admin,
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The breaker after the reset.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "401": _problem("The admin token is missing or wrong."),
                        "404": _problem("No breaker of that name."),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Accepted": {
                    "type": "object",
                    "required": ["id", "duplicate"],
                    "properties": {
                        "id": {
                            "type": "string",
                            "description": "The CloudEvent id (deterministic per provider delivery).",
                        },
                        "duplicate": {"type": "boolean"},
                    },
                },
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details.",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string", "format": "uri"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                    },
                },
            },
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The configured admin_token.",
                }
            },
        },
    }
