"""Registry values: model versions, deployments, and a model's overview."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rasad.store._tables import DeploymentRow, ModelVersionRow
from rasad.tables.signature import Signature


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a named model, with its lineage."""

    id: int
    name: str
    version: int
    run_id: str
    blob: str
    task: str
    signature: Signature
    trusted_types: list[str]
    metrics: dict[str, Any]
    classes: list[Any] | None
    datasets: list[dict[str, Any]]
    created_by: str
    created_at: str

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "run_id": self.run_id,
            "artifact_sha256": self.blob, "task": self.task,
            "signature": self.signature.to_dict(), "trusted_types": self.trusted_types,
            "metrics": self.metrics, "classes": self.classes, "datasets": self.datasets,
            "created_by": self.created_by, "created_at": self.created_at,
        }

    @classmethod
    def from_row(cls, row: ModelVersionRow, datasets: list[dict[str, Any]]) -> ModelVersion:
        return cls(
            id=row.id, name=row.name, version=row.version, run_id=row.run_id, blob=row.blob,
            task=row.task, signature=Signature.from_dict(json.loads(row.signature)),
            trusted_types=json.loads(row.trusted_types), metrics=json.loads(row.metrics),
            classes=json.loads(row.classes) if row.classes else None, datasets=datasets,
            created_by=row.created_by, created_at=row.created_at,
        )


@dataclass(frozen=True)
class Registration:
    """What registering a run did: the version, and whether it was created or already there.

    A run is registered at most once per model: registering it again returns the
    version it already is, as adding identical data returns the existing dataset version.
    """

    version: ModelVersion
    created: bool

    @property
    def message(self) -> str:
        v = self.version
        if self.created:
            return (f"Registered {v.ref} from run {v.run_id[:8]} "
                    f"(artifact sha256 {v.blob[:12]}).")
        return (f"Run {v.run_id[:8]} is already registered as {v.ref} "
                f"(artifact sha256 {v.blob[:12]}); nothing was registered.")

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "message": self.message, **self.version.to_dict()}


@dataclass(frozen=True)
class Deployment:
    """A version starting to serve a model in an environment."""

    id: int
    model_name: str
    environment: str
    version: int
    previous_version: int | None
    kind: str
    reason: str | None
    deployed_by: str
    deployed_at: str
    changed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_row(cls, row: DeploymentRow, version: int, previous: int | None,
                 changed: bool = True) -> Deployment:
        return cls(row.id, row.model_name, row.environment, version, previous, row.kind,
                   row.reason, row.deployed_by, row.deployed_at, changed)


@dataclass(frozen=True)
class ModelDetail:
    """A model: its versions, where each is deployed now, and the deployment history."""

    name: str
    versions: list[ModelVersion]
    deployed: dict[str, int]
    history: list[Deployment]

    def environments_of(self, version: int) -> list[str]:
        return [env for env, v in self.deployed.items() if v == version]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "deployed": self.deployed,
            "versions": [{**v.to_dict(), "environments": self.environments_of(v.version)}
                         for v in self.versions],
            "history": [d.to_dict() for d in self.history],
        }
