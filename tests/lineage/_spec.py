"""Validation of an OpenLineage event against the published JSON Schemas (``spec/``):
the core RunEvent schema, then every facet against the schema its ``_schemaURL`` names."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC = Path(__file__).parent / "spec"
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


@cache
def registry() -> Registry:
    resources = []
    for path in sorted(SPEC.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def facets(node: Any) -> list[dict[str, Any]]:
    """Every facet in ``node``: the objects that carry a ``_schemaURL``."""
    found = []
    if isinstance(node, dict):
        if "_schemaURL" in node:
            found.append(node)
        for value in node.values():
            found.extend(facets(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(facets(value))
    return found


def validate(event: dict[str, Any]) -> None:
    """Raise unless ``event`` is a valid OpenLineage RunEvent with valid facets."""
    _validator(f"{CORE}#/$defs/RunEvent").validate(event)
    assert event["schemaURL"] == f"{CORE}#/$defs/RunEvent"
    # The formats jsonschema cannot check without optional packages.
    assert datetime.fromisoformat(event["eventTime"]).tzinfo is not None
    assert urlsplit(event["producer"]).scheme == "https"
    uuid.UUID(event["run"]["runId"])
    for facet in facets(event):
        _validator(facet["_schemaURL"]).validate(facet)
        assert facet["_producer"] == event["producer"]
