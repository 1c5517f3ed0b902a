"""Registry results: one JSON form, the same keys as before they were typed, read back whole."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from rasad import Project
from rasad.registry import Deployment, DeploymentKind, ModelDetail, ModelVersion, Registration
from rasad.registry.models import register
from rasad.results import Result
from rasad.tables.kinds import ColumnKind

from ._helpers import registered, train

SIGNATURE = {"columns": [
    {"name": "income", "kind": "numeric", "dtype": "float64", "categories": None},
    {"name": "employment_type", "kind": "categorical", "dtype": "str",
     "categories": ["salaried", "self-employed"]}]}

# What ModelVersion.to_dict() wrote before the registry's values were Results.
OLD_VERSION: dict[str, Any] = {
    "name": "credit", "version": 2, "run_id": "5e1f" * 8, "artifact_sha256": "ab" * 32,
    "task": "classification", "signature": SIGNATURE,
    "trusted_types": ["rasad.training.pipeline.categories_as_text"],
    "metrics": {"test": {"roc_auc": 0.81, "log_loss": None}}, "classes": [0, 1],
    "datasets": [{"dataset": "loans@1", "content_hash": "cd" * 32, "role": "train"}],
    "created_by": "amal", "created_at": "2026-01-05T10:00:00.000000Z"}

OLD_DEPLOYMENT: dict[str, Any] = {
    "id": 4, "model_name": "credit", "environment": "staging", "version": 2,
    "previous_version": 1, "kind": "promotion", "reason": "passed review",
    "deployed_by": "amal", "deployed_at": "2026-01-06T09:00:00.000000Z", "changed": True}


def old_version_dict(mv: ModelVersion) -> dict[str, Any]:
    """ModelVersion.to_dict() as the dataclass wrote it."""
    return {
        "name": mv.name, "version": mv.version, "run_id": mv.run_id,
        "artifact_sha256": mv.blob, "task": mv.task,
        "signature": mv.signature.to_dict(), "trusted_types": mv.trusted_types,
        "metrics": mv.metrics, "classes": mv.classes, "datasets": mv.datasets,
        "created_by": mv.created_by, "created_at": mv.created_at,
    }


def test_every_registry_value_is_a_result() -> None:
    for cls in (ModelVersion, ModelDetail, Deployment, Registration):
        assert issubclass(cls, Result)
        assert "to_dict" not in vars(cls)  # the base class's serialisation, nothing hand-made


def test_an_old_version_payload_loads_and_writes_back_key_for_key() -> None:
    mv = ModelVersion.from_dict(OLD_VERSION)
    assert (mv.ref, mv.blob, mv.id) == ("credit@2", "ab" * 32, None)
    assert mv.signature.names == ("income", "employment_type")
    assert mv.signature.columns[1].kind is ColumnKind.CATEGORICAL
    assert mv.signature.columns[1].categories == ("salaried", "self-employed")
    assert mv.to_dict() == OLD_VERSION
    assert list(mv.to_dict()) == list(OLD_VERSION)
    assert ModelVersion.from_json(mv.to_json()) == mv


def test_a_version_with_a_broken_signature_does_not_load() -> None:
    broken = {**OLD_VERSION, "signature": {"columns": [SIGNATURE["columns"][0]] * 2}}
    with pytest.raises(ValidationError, match="duplicate column"):
        ModelVersion.from_dict(broken)
    with pytest.raises(ValidationError, match="artifact_sha256"):
        ModelVersion.from_dict({k: v for k, v in OLD_VERSION.items() if k != "artifact_sha256"})


def test_an_old_deployment_payload_loads_and_writes_back() -> None:
    deployment = Deployment.from_dict(OLD_DEPLOYMENT)
    assert deployment.kind is DeploymentKind.PROMOTION and deployment.previous_version == 1
    # Written back with the key deployments gained since: the request that deployed it.
    assert deployment.to_dict() == {**OLD_DEPLOYMENT, "request_id": None}
    with pytest.raises(ValidationError, match="kind"):
        Deployment.from_dict({**OLD_DEPLOYMENT, "kind": "teleport"})


def test_an_old_registration_payload_loads_flat() -> None:
    old = {"created": False, "message": "Run 5e1f5e1f is already registered as credit@2 "
           f"(artifact sha256 {'ab' * 6}); nothing was registered.", **OLD_VERSION}
    registration = Registration.from_dict(old)
    assert registration.version == ModelVersion.from_dict(OLD_VERSION)
    assert registration.created is False
    assert registration.to_dict() == old
    assert list(registration.to_dict())[:3] == ["created", "message", "name"]
    assert Registration.from_json(registration.to_json()) == registration


def test_an_old_detail_payload_loads_and_lists_environments_per_version() -> None:
    second = {**OLD_VERSION, "environments": ["staging", "production"]}
    first = {**OLD_VERSION, "version": 1, "environments": []}
    old = {"name": "credit", "deployed": {"staging": 2, "production": 2},
           "versions": [first, second], "history": [OLD_DEPLOYMENT]}
    detail = ModelDetail.from_dict(old)
    assert [v.version for v in detail.versions] == [1, 2]
    assert detail.environments_of(2) == ["staging", "production"]
    assert detail.history == [Deployment.from_dict(OLD_DEPLOYMENT)]
    assert detail.to_dict() == {**old, "history": [{**OLD_DEPLOYMENT, "request_id": None}]}
    assert list(detail.to_dict()) == ["name", "deployed", "versions", "history"]
    assert list(detail.to_dict()["versions"][1]) == [*OLD_VERSION, "environments"]


def test_registry_values_from_a_project_keep_their_json(project: Project) -> None:
    first, second = registered(project, versions=2)
    deployment = project.promote("credit", 2, "staging", reason="review passed")
    detail = project.model("credit")
    assert detail.to_dict() == {
        "name": "credit", "deployed": {"staging": 2},
        "versions": [{**old_version_dict(first), "environments": []},
                     {**old_version_dict(second), "environments": ["staging"]}],
        "history": [deployment.to_dict()]}
    assert deployment.to_dict() == {
        "id": deployment.id, "model_name": "credit", "environment": "staging", "version": 2,
        "previous_version": None, "kind": "promotion", "reason": "review passed",
        "deployed_by": "tester", "deployed_at": deployment.deployed_at, "changed": True,
        "request_id": deployment.request_id}
    assert deployment.request_id is not None  # the request holding its gate report
    again = register(project, first.run_id, "credit")
    assert again.to_dict() == {"created": False, "message": again.message,
                               **old_version_dict(first)}
    loaded = ModelDetail.from_json(json.dumps(detail.to_dict()))
    # The JSON leaves out database ids; everything else comes back.
    assert loaded.versions[1].model_copy(update={"id": second.id}) == detail.versions[1]
    assert loaded.history == detail.history and loaded.deployed == detail.deployed


def test_a_new_registration_says_so(project: Project) -> None:
    run = train(project)
    registration = register(project, run.id, "credit")
    assert registration.created
    payload = registration.to_dict()
    assert payload["message"] == (f"Registered credit@1 from run {run.id[:8]} "
                                  f"(artifact sha256 {registration.version.blob[:12]}).")
    assert payload["version"] == 1 and payload["artifact_sha256"] == run.model_blob
