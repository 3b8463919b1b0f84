"""The contracts in schemas/ are current, valid, and describe what hookline really emits."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from hookline.contracts.export import render
from hookline.messages import all_types

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
ASYNCAPI_SCHEMA = Path(__file__).with_name("asyncapi-3.0.0.schema.json")


def test_checked_in_schemas_are_current() -> None:
    """schemas/ equals a fresh export; regenerate with `make schemas` when models change."""
    fresh = render()
    stale = [path for path, content in fresh.items() if (SCHEMAS / path).read_text() != content]
    extra = [
        str(p.relative_to(SCHEMAS))
        for p in SCHEMAS.rglob("*")
        if p.is_file() and str(p.relative_to(SCHEMAS)) not in fresh
    ]
    assert not stale, f"stale: {stale} — run `make schemas`"
    assert not extra, f"not generated any more: {extra}"


def test_every_type_has_a_valid_draft_2020_12_schema() -> None:
    """Each exported schema is itself a valid JSON Schema 2020-12 document with the dataschema URN."""
    for name, message in all_types().items():
        folder = "commands" if message.kind == "command" else "events"
        schema = json.loads((SCHEMAS / folder / f"{name}.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$id"] == f"urn:hookline:schema:{name}"


def test_asyncapi_document_validates_against_asyncapi_3_schema() -> None:
    """asyncapi.yaml is a valid AsyncAPI 3.0.0 document with a channel per topic."""
    document = yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text())
    validator = jsonschema.Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))
    errors = [f"{list(e.path)}: {e.message[:200]}" for e in validator.iter_errors(document)]
    assert errors == []
    addresses = {c["address"] for c in document["channels"].values()}
    assert {f"hookline.{m.topic}" for m in all_types().values()} <= addresses


def test_asyncapi_rejects_a_broken_document() -> None:
    """The validator is strict enough to catch a missing required field (the check can fail)."""
    document = yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text())
    del document["info"]["version"]
    validator = jsonschema.Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))
    assert list(validator.iter_errors(document))
