"""A viewer token changes nothing: every mutating endpoint answers 403 and leaves every
table (the audit log included) as it was."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rasad import Project
from rasad.training.environment import RunOrigin
from rasad.training.run import open_record
from tests.api.conftest import Tokens
from tests.api.test_endpoints import csv_bytes
from tests.identity._helpers import snapshot
from tests.registry._helpers import registered

V1 = "/api/v1"


@dataclass(frozen=True)
class Mutation:
    """One state-changing request, and what the project needs before it can succeed."""

    method: str
    path: str
    setup: Callable[[Project, Tokens], dict[str, Any]]


def nothing(project: Project, tokens: Tokens) -> dict[str, Any]:
    return {}


def with_model(project: Project, tokens: Tokens) -> dict[str, Any]:
    """Two versions of 'credit', both promoted to staging (so a rollback could run)."""
    first, second = registered(project, "credit", versions=2)
    project.promote("credit", 1, "staging")
    project.promote("credit", 2, "staging")
    return {"run_id": first.run_id}


def running(project: Project, tokens: Tokens) -> dict[str, Any]:
    """A run the creator started and has not ended, using loans@1."""
    project.add_dataset(pd.read_csv(io.BytesIO(csv_bytes())), "loans")
    run = open_record(project.context, "open", origin=RunOrigin.here(project.root))
    return {"run_id": run.id}


def token_id(project: Project, tokens: Tokens) -> dict[str, Any]:
    return {"id": tokens.admin.split("_")[1]}


def with_request(project: Project, tokens: Tokens) -> dict[str, Any]:
    """credit@1 waiting for approval in production (the default policy needs one)."""
    with_model(project, tokens)
    request = project.promote("credit", 1, "production")
    return {"request_id": request.id}


def with_forced(project: Project, tokens: Tokens) -> dict[str, Any]:
    """A break-glass promotion nobody has reviewed yet."""
    with_model(project, tokens)
    forced = project.force_promote("credit", 1, "production", justification="drill")
    return {"request_id": forced.id}


MUTATIONS: dict[str, tuple[Mutation, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "upload": (Mutation("POST", "/datasets/loans/versions", nothing),
               lambda _: {"files": {"file": ("loans.csv", csv_bytes(), "text/csv")}}),
    "register": (Mutation("POST", "/models/other/versions", with_model),
                 lambda given: {"json": {"run_id": given["run_id"]}}),
    "promote": (Mutation("POST", "/models/credit/promotions", with_model),
                lambda _: {"json": {"version": 1, "to": "production"}}),
    "rollback": (Mutation("POST", "/models/credit/rollbacks", with_model),
                 lambda _: {"json": {"env": "staging"}}),
    "retire": (Mutation("POST", "/models/credit/retirements", with_model),
               lambda _: {"json": {"env": "production", "slot": "canary"}}),
    "break-glass": (Mutation("POST", "/models/credit/break-glass", with_model),
                    lambda _: {"json": {"version": 1, "to": "production",
                                        "justification": "because"}}),
    "approve": (Mutation("POST", "/requests/{request_id}/approve", with_request),
                lambda _: {"json": {"comment": "fine"}}),
    "reject": (Mutation("POST", "/requests/{request_id}/reject", with_request),
               lambda _: {"json": {"comment": "no"}}),
    "review": (Mutation("POST", "/requests/{request_id}/review", with_forced),
               lambda _: {"json": {"comment": "seen"}}),
    "add user": (Mutation("POST", "/users", nothing),
                 lambda _: {"json": {"name": "mallory", "roles": ["admin"]}}),
    "grant": (Mutation("POST", "/users/vic/grant", nothing),
              lambda _: {"json": {"roles": ["admin"]}}),
    "revoke role": (Mutation("POST", "/users/ada/revoke", nothing),
                    lambda _: {"json": {"roles": ["admin"]}}),
    "disable": (Mutation("POST", "/users/ada/disable", nothing), lambda _: {}),
    "create token": (Mutation("POST", "/tokens", nothing),
                     lambda _: {"json": {"principal": "ada"}}),
    "revoke token": (Mutation("POST", "/tokens/{id}/revoke", token_id), lambda _: {}),
    "infer a schema": (Mutation("POST", "/schemas/loans/inferences", with_model),
                       lambda _: {"json": {}}),
    "save a schema": (Mutation("POST", "/schemas/loans", with_model), lambda _: {"files": {
        "file": ("loans.yaml", b"columns: {}\n", "application/yaml")}}),
    "store a validation": (Mutation("POST", "/validations", with_model),
                           lambda _: {"json": {"dataset": "loans@1"}}),
    "train": (Mutation("POST", "/runs", with_model),
              lambda _: {"json": {"dataset": "loans", "target": "default"}}),
    # Checks change something only when they save; a viewer may run them unsaved.
    "save a drift check": (Mutation("POST", "/checks/drift", with_model), lambda _: {"json": {
        "reference": "loans@1", "current": "loans@1", "save": True, "monitor": "m"}}),
    "save a fairness assessment": (Mutation("POST", "/checks/fairness", with_model),
                                   lambda _: {"json": {"model": "credit", "dataset": "loans@1",
                                                       "save": True}}),
    "save performance": (Mutation("POST", "/checks/performance", with_model),
                         lambda _: {"json": {"reference": "loans@1", "current": "loans@1",
                                             "target": "default", "prediction": "default",
                                             "save": True}}),
    "save an estimate": (Mutation("POST", "/checks/estimation", with_model),
                         lambda _: {"json": {"reference": "loans@1", "current": "loans@1",
                                             "target": "default", "prediction": "default",
                                             "score": "income", "save": True}}),
    # Run tracking (tests/api/test_remote_runs.py), on a run the admin left running.
    "start a run": (Mutation("POST", "/tracked-runs", nothing),
                    lambda _: {"json": {"host": "laptop", "pid": 1}}),
    "log params": (Mutation("POST", "/runs/{run_id}/params", running),
                   lambda _: {"json": {"params": {"lr": 0.1}}}),
    "log metrics": (Mutation("POST", "/runs/{run_id}/metrics", running),
                    lambda _: {"json": {"metrics": [{"key": "loss", "value": 1.0, "step": 0,
                                                     "logged_at": 1.0}]}}),
    "log a model": (Mutation("POST", "/runs/{run_id}/model", running), lambda _: {"files": {
        "model": ("m.skops", b"not read", "application/octet-stream"),
        "sample": ("s.csv", csv_bytes(), "text/csv")}}),
    "record a dataset": (Mutation("POST", "/runs/{run_id}/datasets", running),
                         lambda _: {"json": {"dataset": "loans@1"}}),
    "end a run": (Mutation("POST", "/runs/{run_id}/end", running),
                  lambda _: {"json": {"status": "finished", "duration_s": 1.0}}),
    "gc": (Mutation("POST", "/maintenance/gc", nothing), lambda _: {"json": {"dry_run": True}}),
    # Finding a subject may store id indexes, and needs audit.read (tests/governance/
    # test_subjects_doors.py); erasing needs subject.erase.
    "find a subject": (Mutation("POST", "/subjects/find", nothing),
                       lambda _: {"json": {"id": "C-1"}}),
    "erase a subject": (Mutation("POST", "/subjects/erase", nothing),
                        lambda _: {"json": {"id": "C-1", "reason": "GDPR Art. 17"}}),
}


@pytest.mark.parametrize("case", list(MUTATIONS))
def test_a_viewer_cannot_change_anything(project: Project, client: TestClient, tokens: Tokens,
                                         case: str) -> None:
    mutation, request = MUTATIONS[case]
    given = mutation.setup(project, tokens)
    before = snapshot(project)
    events = len(project.audit_log())
    response = client.request(mutation.method, V1 + mutation.path.format(**given),
                              headers=tokens.as_viewer, **request(given))
    assert response.status_code == 403, response.text
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert (body["type"], body["status"], body["error"]) == \
        ("urn:rasad:problem:permission-denied", 403, "PermissionDenied")
    assert body["detail"].startswith("'vic' (token:")
    assert snapshot(project) == before
    assert len(project.audit_log()) == events


def test_every_mutating_route_is_tried(app: FastAPI) -> None:
    routes = {(method.upper(), path.removeprefix(V1))
              for path, operations in app.openapi()["paths"].items()
              for method in operations if method not in {"get", "head"}}
    tried = {(m.method, m.path.replace("{id}", "{token_id}").replace("/loans/", "/{name}/")
              .replace("/credit/", "/{name}/").replace("/other/", "/{name}/")
              .replace("/vic/", "/{name}/").replace("/ada/", "/{name}/")
              .replace("/schemas/loans", "/schemas/{name}"))
             for m, _ in MUTATIONS.values()}
    # Reads that need a request body: a viewer may run them (tests/api/test_validation_routes.py
    # and test_training_routes.py); scoring records a `model.predict` event, as locally.
    reads = {("POST", "/quality"), ("POST", "/pii-scans"),
             ("POST", "/models/{name}/predictions")}
    assert routes == tried | reads
    assert not tried & reads
