"""Errors are RFC 9457 problem details from the one table in rasad.api.problems."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import rasad.errors
from rasad.api import PROBLEMS
from rasad.api.auth import context
from rasad.api.problems import problem_type, status_of
from rasad.errors import InputError, RasadError
from rasad.identity import InvalidToken
from rasad.ledger import LedgerDamaged
from rasad.store import DatabaseBusy, DatabaseUnavailable
from tests.api.conftest import Tokens

V1 = "/api/v1"
DOCS = Path(__file__).parents[2] / "docs" / "api.md"
KEYS = {"type", "title", "status", "detail", "error", "exit_code"}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"].startswith("urn:rasad:problem:")
    assert isinstance(body["title"], str) and isinstance(body["detail"], str)
    return body


def test_not_found_names_the_known_names(client: TestClient, tokens: Tokens) -> None:
    body = problem(client.get(f"{V1}/datasets/loans", headers=tokens.as_admin), 404)
    assert set(body) == KEYS
    assert body["title"] == "Not found" and body["error"] == "NotFoundError"
    assert body["detail"] == ("No dataset named 'loans'. The project has no datasets yet; add "
                              "one with `rasad data add PATH --name NAME`.")
    assert body["exit_code"] == 2


def test_a_conflict_is_409(client: TestClient, tokens: Tokens) -> None:
    body = problem(client.post(f"{V1}/users", json={"name": "vic"}, headers=tokens.as_admin),
                   409)
    assert body["error"] == "ConflictError" and "'vic' is a principal already" in body["detail"]


def test_a_bad_body_is_422_with_the_fields_named(client: TestClient, tokens: Tokens) -> None:
    body = problem(client.post(f"{V1}/models/credit/promotions", json={"version": "two"},
                               headers=tokens.as_admin), 422)
    assert body["error"] == "InputError"
    assert "body.version" in str(body["detail"]) and "body.to" in str(body["detail"])
    assert [e["loc"] for e in body["errors"]] == [["body", "version"], ["body", "to"]]


def test_an_input_error_from_a_service_is_422(client: TestClient, tokens: Tokens) -> None:
    body = problem(client.post(f"{V1}/users", json={"name": "x", "roles": ["superuser"]},
                               headers=tokens.as_admin), 422)
    assert body["detail"].startswith("Unknown role 'superuser'.")


def test_a_nul_character_is_refused_at_the_door(client: TestClient, tokens: Tokens) -> None:
    problem(client.get(f"{V1}/audit/events", params={"subject": "a\x00b"},
                       headers=tokens.as_admin), 422)


def test_an_unknown_route_and_a_wrong_method_are_problems(client: TestClient) -> None:
    problem(client.get(f"{V1}/nowhere"), 404)
    assert problem(client.delete(f"{V1}/models"), 405)["title"] == "Method Not Allowed"


def test_an_unexpected_error_is_500_without_internals(app: FastAPI, client: TestClient,
                                                      tokens: Tokens) -> None:
    def broken() -> None:
        raise RuntimeError("secret connection string postgresql://u:pw@db")

    app.dependency_overrides[context] = broken
    body = problem(client.get(f"{V1}/models", headers=tokens.as_admin), 500)
    assert set(body) == {"type", "title", "status", "detail"}
    assert body["type"] == "urn:rasad:problem:internal"
    assert "secret" not in str(body) and "RuntimeError" not in str(body)


def _rasad_errors() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    todo: list[type[BaseException]] = [RasadError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("error", [*vars(rasad.errors).values(), InvalidToken, LedgerDamaged,
                                   DatabaseBusy, DatabaseUnavailable])
def test_every_rasad_error_has_a_status(error: object) -> None:
    if not (isinstance(error, type) and issubclass(error, RasadError)):
        return
    assert 400 <= problem_type(error("x")).status < 600


def test_the_table_picks_the_nearest_listed_class() -> None:
    assert status_of(InvalidToken("x")) == 401  # not its base PermissionDenied's 403
    assert status_of(rasad.errors.ConfigError("x")) == 500  # not its base InputError's 422

    class Unlisted(InputError):
        pass

    assert status_of(Unlisted("x")) == 422
    assert all(cls in PROBLEMS or any(base in PROBLEMS for base in cls.__mro__)
               for cls in _rasad_errors())


def test_docs_api_md_shows_the_table_as_it_is() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (\d{3}) \| (\d) \|", text, flags=re.M)
    assert {name: (int(status), int(code)) for name, status, code in rows} == \
        {cls.__name__: (row.status, cls.exit_code)  # type: ignore[attr-defined]
         for cls, row in PROBLEMS.items()}
