"""Schemathesis against the API's own OpenAPI schema, with an admin token: no case
generated from the schema may make the server fail (5xx), and every answer has a status,
content type and body the schema declares (problems included).

Bounded (a fixed number of examples per operation, derandomised so a run is
reproducible) to stay well under a minute per backend.
"""

from __future__ import annotations

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rasad import Project
from tests.api.conftest import Tokens
from tests.registry._helpers import registered

EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_no_generated_request_makes_the_server_fail(project: Project, app: FastAPI,
                                                     tokens: Tokens) -> None:
    registered(project, "credit")  # something real behind the reads
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    tried: list[str] = []
    calls: list[int] = []
    with TestClient(app):  # the lifespan: the server checks its database once
        for found in schema.get_all_operations():
            operation = found.ok()  # type: ignore[union-attr]
            tried.append(operation.label)

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def no_server_error(case: schemathesis.Case) -> None:
                response = case.call(headers=tokens.as_admin)
                calls.append(response.status_code)
                case.validate_response(response, checks=CHECKS)

            no_server_error()
    assert len(tried) == len([op for path in app.openapi()["paths"].values() for op in path])
    assert len(calls) >= 10 * len(tried)  # the cases really ran
