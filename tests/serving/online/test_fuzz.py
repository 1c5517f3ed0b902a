"""Schemathesis against the prediction server's own OpenAPI schema, with a predictor token:
no generated request makes it fail (5xx), and every answer has a status, content type and
body the schema declares.

Bounded (a fixed number of examples per operation, derandomised) to stay within seconds.
"""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rasad.serving.online import create_app
from tests.serving.online.conftest import MODEL, Served

EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_no_generated_request_makes_the_server_fail(shared: Served) -> None:
    app = create_app(shared.root, follow=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tried: list[str] = []
    calls: list[int] = []
    with TestClient(app):  # the lifespan: the prediction log runs, and is closed after
        for found in schema.get_all_operations():
            operation = found.ok()  # type: ignore[union-attr]
            tried.append(operation.label)

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def no_server_error(case: schemathesis.Case) -> None:
                # Every other case names the served model and version: random names are
                # 404s before any input is looked at.
                if case.path_parameters and len(calls) % 2 == 0:
                    case.path_parameters.update(
                        {key: value for key, value in (("name", MODEL), ("version", "1"))
                         if key in case.path_parameters})
                response = case.call(headers=shared.as_predictor)
                calls.append(response.status_code)
                case.validate_response(response, checks=CHECKS)

            no_server_error()
    assert len(tried) == len([op for path in app.openapi()["paths"].values() for op in path])
    assert len(calls) >= 5 * len(tried)  # the cases really ran
    assert {200, 202, 400, 404, 422} <= set(calls)
