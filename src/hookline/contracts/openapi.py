"""The OpenAPI 3.1 description of the ingress's HTTP surface (README.md#http-surface-of-the-ingress).

Served at ``GET /openapi.json`` with the configured sources, it says exactly
what each one takes: one path per source, with only the methods its provider
delivers with, only the content types its adapter parses, and only the answers
it can give (401 only where a scheme verifies, 403 only with ``allow_ips``).
OpenAPI cannot make a path's methods depend on a parameter's value, hence a
path per source rather than ``/webhooks/{source}``. Without sources (the
exported ``schemas/openapi.json``) the template path describes every provider
at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hookline import __version__

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_TEXT = "text/plain"

# What a body of each content type may be, as a schema-driven client should build it.
_BODIES: dict[str, dict[str, Any]] = {
    # Any JSON document the provider signs: what it means is the adapter's business,
    # and a verified body it cannot normalize is kept (202), not refused.
    _JSON: {},
    _FORM: {"type": "object", "additionalProperties": {"type": "string"}},
    _TEXT: {"type": "string"},
}


class _AdapterView(Protocol):
    @property
    def content_types(self) -> tuple[str, ...]: ...


class _SettingsView(Protocol):
    @property
    def allow_ips(self) -> Sequence[object]: ...


class SourceView(Protocol):
    """What the document reads from a prepared source (``hookline.ingress.sources.Source``)."""

    @property
    def methods(self) -> tuple[str, ...]: ...

    @property
    def scheme(self) -> object | None: ...

    @property
    def adapter(self) -> _AdapterView: ...

    @property
    def settings(self) -> _SettingsView: ...


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
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            }
        }
    return response


_INTERNAL = _problem("An unexpected error; the body is the same whatever the cause.")


# Where a record is stored: enough to read it back (a receipt's coordinates).
_COORDINATES: dict[str, Any] = {
    "topic": {"type": "string", "description": "The Kafka topic."},
    "partition": {"type": "integer", "minimum": 0},
    "offset": {"type": "integer", "minimum": 0},
}


def _delivery_answers(*, verified: bool, restricted: bool) -> dict[str, Any]:
    """What a delivery by POST and one by GET answer alike."""
    answers: dict[str, Any] = {
        "200": {
            "description": "A repeat of a delivery already published (application/json), or "
            "the acknowledgement body a provider needs (text/plain: Mitake's reports, "
            "Slack's url_verification challenge), also for a repeat.",
            "content": {
                _JSON: {"schema": {"$ref": "#/components/schemas/Accepted"}},
                _TEXT: {"schema": {"type": "string"}},
            },
        },
        "202": {
            "description": "Published after Kafka's acknowledgement, or kept whole in "
            "hookline.dlq.ingress when it cannot be normalized.",
            "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Accepted"}}},
        },
        "500": _INTERNAL,
        "503": _problem(
            "Kafka (or the dedup store) is unavailable; retry later.", retry_after=True
        ),
    }
    if verified:
        answers["401"] = _problem("Verification failed (the same body whatever the cause).")
    if restricted:
        answers["403"] = _problem("The caller's address is not in the source's allow_ips.")
    return answers


def _post(
    content_types: Sequence[str], answers: dict[str, Any], summary: str, operation_id: str
) -> dict[str, Any]:
    content = {ct: {"schema": _BODIES[ct]} for ct in content_types if ct in _BODIES}
    # Mitake's reports may come without a Content-Type; OpenAPI cannot say "none".
    bare = "" in content_types
    notes = ["The raw bytes are verified with the source's signature scheme before anything else."]
    if _JSON in content_types:
        notes.append("Any application/*+json type counts as JSON.")
    if bare:
        notes.append("A body without a Content-Type is taken too.")
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": " ".join(notes),
        "requestBody": {
            "required": not bare,
            "description": "The provider's payload, signed as the source's scheme requires.",
            "content": content,
        },
        "responses": {
            **answers,
            "400": _problem(
                "The body is not in the content type it claims, or its framing is wrong."
            ),
            "413": _problem("The body exceeds server.max_body_bytes."),
            "415": _problem("A content type this source's provider does not send."),
        },
    }


def _get(answers: dict[str, Any], summary: str, operation_id: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": "For providers that deliver by GET (Mitake's reports, Twilio callbacks "
        "configured for GET): the fields travel in the query, there is no body.",
        "responses": answers,
    }


def _source_path(name: str, source: SourceView) -> dict[str, Any]:
    answers = _delivery_answers(
        verified=source.scheme is not None, restricted=bool(source.settings.allow_ips)
    )
    item: dict[str, Any] = {}
    if "POST" in source.methods:
        item["post"] = _post(
            source.adapter.content_types, answers, f"A delivery to {name}", f"deliver_{name}"
        )
    if "GET" in source.methods:
        item["get"] = _get(answers, f"A delivery to {name} by GET", f"deliverByGet_{name}")
    return item


def _template_path() -> dict[str, Any]:
    """``/webhooks/{source}`` for no source in particular: every provider's shapes at once."""
    answers = {
        **_delivery_answers(verified=True, restricted=True),
        "404": _problem("Unknown source."),
        "405": _problem("A method this source's provider does not deliver with (Allow lists it)."),
    }
    parameters = [
        {
            "name": "source",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]+$"},
            "description": "A source configured under sources.<name>.",
        }
    ]
    post = _post(
        [_JSON, _FORM, _TEXT, ""], answers, "Receive one provider delivery", "receiveWebhook"
    )
    get = _get(answers, "Receive a delivery a provider makes by GET", "receiveWebhookByGet")
    return {"post": {**post, "parameters": parameters}, "get": {**get, "parameters": parameters}}


def document(sources: Mapping[str, SourceView] | None = None) -> dict[str, Any]:
    """The document; with ``sources``, one exact path per configured source."""
    admin: list[dict[str, list[str]]] = [{"adminToken": []}]
    if sources:
        webhooks = {
            f"/webhooks/{name}": _source_path(name, source)
            for name, source in sorted(sources.items())
        }
    else:
        webhooks = {"/webhooks/{source}": _template_path()}
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "hookline ingress",
            "version": __version__,
            "description": (
                "Providers POST webhooks to /webhooks/{source} (a few, such as Mitake's delivery "
                "reports, GET it). The request is verified over its raw "
                "bytes with the source's signature scheme, normalized into CloudEvents and published "
                "to Kafka; 202 is sent only after Kafka acknowledged the write. Any request may "
                "also be answered 500 (application/problem+json) if hookline itself fails."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": {
            **webhooks,
            "/healthz": {
                "get": {
                    "operationId": "liveness",
                    "summary": "The process serves",
                    "responses": {
                        "200": {
                            "description": "Alive.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                    },
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readiness",
                    "summary": "The producer reaches Kafka (and required providers pass their probes)",
                    "responses": {
                        "200": {
                            "description": "Ready.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "503": {
                            "description": "Kafka unreachable, or a provider with "
                            "health.required_for_ready failing its probe (providers_down).",
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
                            "description": "OpenMetrics (with exemplars) when Accept asks "
                            "for application/openmetrics-text, else the classic text format.",
                            "content": {
                                "text/plain": {"schema": {"type": "string"}},
                                "application/openmetrics-text": {"schema": {"type": "string"}},
                            },
                        },
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
            **_provider_health_paths(admin),
            **_console_paths(admin),
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Accepted": {
                    "type": "object",
                    "description": "The receipt: where the delivery's events are stored. "
                    "topic/partition/offset name the first event's record; a repeat (200) "
                    "carries the original's when the dedup store kept them.",
                    "required": ["id", "duplicate"],
                    "properties": {
                        "id": {
                            "type": "string",
                            "description": "The CloudEvent id (deterministic per provider delivery).",
                        },
                        "duplicate": {"type": "boolean"},
                        **_COORDINATES,
                        "events": {
                            "type": "array",
                            "description": "Every event of the delivery, in order, and its record.",
                            "items": {
                                "type": "object",
                                "required": ["id", "topic", "partition", "offset"],
                                "properties": {"id": {"type": "string"}, **_COORDINATES},
                            },
                        },
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
    for item in spec["paths"].values():
        for operation in item.values():
            for status, answer in _ANY_REQUEST.items():
                _also(operation["responses"], status, answer)
    return spec


def _provider_health_paths(admin: list[dict[str, list[str]]]) -> dict[str, Any]:
    """The provider health probes' routes (docs/providers/README.md#health-probes)."""
    as_json = {"application/json": {"schema": {"type": "object"}}}
    return {
        "/admin/providers": {
            "get": {
                "operationId": "listProviderHealth",
                "summary": "Each provider's last health probe: up, when, latency, masked error",
                "security": admin,
                "responses": {
                    "200": {"description": "Every probed provider.", "content": as_json},
                    "401": _problem("The admin token is missing or wrong."),
                },
            }
        },
        "/health/integration/{provider}": {
            "get": {
                "operationId": "integrationHealth",
                "summary": "One provider's last health probe as a status code",
                "parameters": [
                    {
                        "name": "provider",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {"description": "The last probe passed.", "content": as_json},
                    "503": {
                        "description": "The last probe failed, or none has finished yet.",
                        "content": as_json,
                    },
                    "404": _problem("No health probe for that provider."),
                },
            }
        },
    }


_TIME = {
    "anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "string", "pattern": "^[0-9]{1,5}[mhd]$", "description": "An age: 15m, 2h, 1d."},
        {"type": "string", "maxLength": 0, "description": "Empty: no bound."},
    ]
}
_NULL = {"type": "null"}


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [*schema.get("anyOf", [schema]), _NULL]}


_WHOLE = {"type": "string", "pattern": "^[0-9]{0,9}$", "description": "Empty: the default."}
_QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "since": _TIME,
    "until": _TIME,
    "limit": _WHOLE,
    "offset": _WHOLE,
    # Empty means "either", as the console's forms send it.
    "kind": {"type": "string", "enum": ["", "events", "commands"]},
    "replayed": {"type": "string", "enum": ["", "yes", "no", "true", "false"]},
}


def _query(*names: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": _QUERY_SCHEMAS.get(name, {"type": "string"}),
        }
        for name in names
    ]


def _console_paths(admin: list[dict[str, list[str]]]) -> dict[str, Any]:
    """What the console reads and does, as JSON (docs/console.md#the-admin-api)."""
    as_json = {"application/json": {"schema": {"type": "object"}}}
    refused = _problem("The admin token is missing or wrong.")
    bad = _problem("A filter value cannot be read (e.g. a time that is neither ISO 8601 nor 15m).")
    kafka = _problem("Kafka is unavailable; retry later.", retry_after=True)

    def read(operation_id: str, summary: str, answer: str, *query: str) -> dict[str, Any]:
        responses = {"200": {"description": answer, "content": as_json}, "401": refused}
        if query:
            responses["400"] = bad
        responses["503"] = kafka
        operation = {"operationId": operation_id, "summary": summary, "security": admin}
        return {"get": {**operation, "parameters": _query(*query), "responses": responses}}

    event_filters = ("q", "id", "providereventid", "type", "subject", "source", "kind", "since",
                     "until", "limit", "offset")  # fmt: skip
    letter_filters = ("service", "reason", "error_class", "since", "until", "replayed", "id")
    one_event = read("getEvent", "One event or command, its Kafka coordinates and causation chain",
                     "The newest record with this id.")  # fmt: skip
    one_event["get"]["parameters"] = [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    one_event["get"]["responses"]["404"] = _problem("No event or command with this id.")
    letter_fields = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "service": _or_null({"type": "string"}),
            "reason": _or_null({"type": "string"}),
            "error_class": _or_null({"type": "string"}),
            "since": _or_null(_TIME),
            "until": _or_null(_TIME),
            "replayed": _or_null(_QUERY_SCHEMAS["replayed"]),
        },
    }
    replay_body = {
        "type": "object",
        "additionalProperties": False,
        "description": "Naming nothing (no ids, no filter, all false) replays nothing.",
        "properties": {
            "ids": {
                "type": "array",
                "items": {"type": "string"},
                "description": "CloudEvent ids or DLQ coordinates (topic[partition]@offset).",
            },
            "filter": {
                "anyOf": [letter_fields, _NULL],
                "description": "Every letter matching these filters.",
            },
            "all": {"type": "boolean", "description": "Every dead letter (with filter: of it)."},
            "dry_run": {
                "type": "boolean",
                "default": True,
                "description": "Only say what would be replayed (the default).",
            },
        },
    }
    return {
        "/admin/overview": read(
            "overview",
            "Per source accepted/duplicate/rejected over 5 min, 1 h, 24 h; lag, "
            "dead letters, breakers",
            "The overview's figures.",
        ),
        "/admin/events": read(
            "searchEvents",
            "Events and commands read from Kafka, newest first",
            "One page of matches.",
            *event_filters,
        ),
        "/admin/events/{id}": one_event,
        "/admin/rejected": read(
            "listRejected",
            "The newest rejected webhook requests per source, masked",
            "Rejected requests, newest first.",
            "source",
            "reason",
            "limit",
        ),
        "/admin/dlq/letters": read(
            "listDeadLetters",
            "Dead letters with their replayed mark, newest first",
            "The dead letters matching the filters.",
            *letter_filters,
        ),
        "/admin/dlq/replay": {
            "post": {
                "operationId": "replayDeadLetters",
                "summary": "Replay dead letters by id or filter, or say what would be (dry run)",
                "security": admin,
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": replay_body}},
                },
                "responses": {
                    "200": {"description": "What was (or would be) replayed.", "content": as_json},
                    "400": _problem("The body is not an object naming ids, a filter or all."),
                    "401": refused,
                    "503": kafka,
                },
            }
        },
        "/admin/reconcile/open": {
            "get": {
                "operationId": "listOpenEntities",
                "summary": "What hookline started and has not seen finish, oldest first "
                "(docs/reconcile.md)",
                "security": admin,
                "parameters": _query("provider"),
                "responses": {
                    "200": {
                        "description": "Counts per provider and up to 500 open entities.",
                        "content": as_json,
                    },
                    "401": refused,
                    "503": _problem("The open-entity store (Redis) is unreachable."),
                },
            }
        },
    }


# What any request may get before (or whatever) its route answers: a handler
# failing (the edge and Starlette both answer it), and the HTTP edge of
# `hookline serve` refusing the request itself (docs/edge.md).
_ANY_REQUEST: dict[str, dict[str, Any]] = {
    "400": _problem("The request is not valid HTTP/1.1 (e.g. a bad Content-Length)."),
    "408": _problem("The request headers or body did not arrive within the server's timeouts."),
    "431": _problem("The request headers exceed server.max_header_bytes."),
    "500": _INTERNAL,
    "503": _problem("Over server.max_connections; retry later.", retry_after=True),
}


def _also(responses: dict[str, Any], status: str, answer: dict[str, Any]) -> None:
    """Add ``answer`` under ``status``; where the operation has its own, add only its media types."""
    own = responses.get(status)
    if own is None:
        responses[status] = answer
        return
    content = own.setdefault("content", {})
    for media_type, schema in answer["content"].items():
        content.setdefault(media_type, schema)
