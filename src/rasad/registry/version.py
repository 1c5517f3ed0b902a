"""Registry values: model versions, deployments, registrations, and a model's overview.

Each is a :class:`rasad.results.Result`: immutable, with one JSON form that the CLI
prints, the HTTP API returns and :meth:`~rasad.results.Result.from_dict` reads back.

>>> version = ModelVersion.from_dict({
...     "name": "credit", "version": 2, "run_id": "9f2c", "artifact_sha256": "ab" * 32,
...     "task": "classification", "signature": {"columns": [
...         {"name": "income", "kind": "numeric", "dtype": "float64", "categories": None}]},
...     "trusted_types": [], "metrics": {}, "classes": [0, 1], "datasets": [],
...     "created_by": "amal", "created_at": "2026-01-05T10:00:00Z"})
>>> version.ref, version.blob[:4], version.id is None
('credit@2', 'abab', True)
>>> detail = ModelDetail(name="credit", deployed={"staging": 2}, versions=[version], history=[])
>>> detail.to_dict()["versions"][0]["environments"]
['staging']
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import (
    AliasChoices,
    Field,
    SerializerFunctionWrapHandler,
    computed_field,
    field_serializer,
    model_serializer,
    model_validator,
)
from pydantic_core import from_json
from sqlalchemy import Row

from rasad.registry.slots import Slot, split
from rasad.results import Result
from rasad.store._tables import DeploymentRow, ModelVersionRow
from rasad.tables.signature import Signature


class DeploymentKind(StrEnum):
    """How a version came to serve: promoted to the environment, or rolled back to."""

    PROMOTION = "promotion"
    ROLLBACK = "rollback"


class ModelVersion(Result):
    """One registered version of a named model, with its lineage.

    ``blob`` is the sha256 of the model's bytes; its JSON key is ``artifact_sha256``.
    ``id`` is the database row's id: it stays out of the JSON, so a version read back
    from JSON has ``id=None``.
    """

    id: int | None = Field(default=None, exclude=True)
    name: str
    version: int
    run_id: str
    blob: str = Field(serialization_alias="artifact_sha256",
                      validation_alias=AliasChoices("artifact_sha256", "blob"))
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
        """``name@version``."""
        return f"{self.name}@{self.version}"

    @classmethod
    def from_row(cls, row: ModelVersionRow | Row[Any], datasets: list[dict[str, Any]], *,
                 signatures: dict[str, Signature] | None = None) -> ModelVersion:
        """The version a ``model_versions`` row holds, with the datasets its run used.

        ``row`` is the mapped row or a plain result row with the same columns.
        ``signatures`` caches parsed signatures by their stored text over the rows of
        one read: a model's versions usually share one, and a Signature is immutable.
        """
        signature = signatures.get(row.signature) if signatures is not None else None
        if signature is None:
            signature = Signature.from_dict(from_json(row.signature))
            if signatures is not None:
                signatures[row.signature] = signature
        # pydantic_core's parser gives what json.loads gives, several times faster: a
        # registry listing parses every version's metrics.
        return cls(
            id=row.id, name=row.name, version=row.version, run_id=row.run_id, blob=row.blob,
            task=row.task, signature=signature, trusted_types=from_json(row.trusted_types),
            metrics=from_json(row.metrics),
            classes=from_json(row.classes) if row.classes else None, datasets=datasets,
            created_by=row.created_by, created_at=row.created_at,
        )


class Registration(Result):
    """What registering a run did: the version, and whether it was created or already there.

    A run is registered at most once per model: registering it again returns the
    version it already is, as adding identical data returns the existing dataset version.
    The JSON is flat: ``created`` and ``message``, then the version's own keys.
    """

    version: ModelVersion
    created: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message(self) -> str:
        """One sentence saying what happened."""
        v = self.version
        if self.created:
            return (f"Registered {v.ref} from run {v.run_id[:8]} "
                    f"(artifact sha256 {v.blob[:12]}).")
        return (f"Run {v.run_id[:8]} is already registered as {v.ref} "
                f"(artifact sha256 {v.blob[:12]}); nothing was registered.")

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {"created": dumped["created"], "message": dumped["message"],
                **dumped["version"]}

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, data: Any) -> Any:
        # The flat JSON form carries the version number under "version"; the version
        # itself is the rest of the keys.
        if isinstance(data, dict) and not isinstance(data.get("version"),
                                                     (dict, ModelVersion)):
            rest = {k: v for k, v in data.items() if k not in ("created", "message")}
            return {"created": data.get("created"), "version": rest}
        return data


class Deployment(Result):
    """A version starting to serve a model in an environment.

    ``changed`` is False when the version already served there and nothing was written.
    ``request_id`` is the promotion request that deployed it (its gate report, approvals
    or break-glass; :mod:`rasad.release.requests`); None for a rollback.
    """

    id: int
    model_name: str
    environment: str
    version: int
    previous_version: int | None
    kind: DeploymentKind
    reason: str | None
    deployed_by: str
    deployed_at: str
    changed: bool = True
    request_id: int | None = None

    @property
    def slot(self) -> Slot:
        """Which deployment of the environment this is: primary, canary or shadow.

        ``environment`` holds the stored target: the environment's name for its primary,
        ``ENV:SLOT`` for the others (:mod:`rasad.registry.slots`). The slot is read from
        it, so the JSON keeps the keys it always had.
        """
        return split(self.environment)[1]

    @classmethod
    def from_row(cls, row: DeploymentRow | Row[Any], version: int, previous: int | None,
                 changed: bool = True) -> Deployment:
        """The deployment a ``deployments`` row records, serving ``version``."""
        return cls(id=row.id, model_name=row.model_name, environment=row.environment,
                   version=version, previous_version=previous, kind=DeploymentKind(row.kind),
                   reason=row.reason, deployed_by=row.deployed_by, deployed_at=row.deployed_at,
                   changed=changed, request_id=row.request_id)


class Retirement(Result):
    """A canary or shadow that stopped serving (:func:`rasad.registry.promotion.retire`).

    ``environment`` is the stored target (``production:canary``); ``deployment_id`` the
    deployment that ended. ``reason`` says why; a canary retired because its version
    became the primary says so.
    """

    model_name: str
    environment: str
    version: int
    deployment_id: int
    reason: str | None
    retired_by: str
    retired_at: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def slot(self) -> Slot:
        """The slot that is empty now: canary or shadow."""
        return split(self.environment)[1]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message(self) -> str:
        """One sentence saying what ended."""
        env, slot = split(self.environment)
        return (f"Retired: {self.model_name} v{self.version} is no longer the {slot} of "
                f"{env}.")


class ServingSet(Result):
    """What serves one model in one environment: the primary, and its canary and shadow.

    What a prediction server loads (:func:`rasad.registry.models.serving_versions`): the
    primary answers, the canary answers its configured share, the shadow only scores.
    """

    primary: ModelVersion
    canary: ModelVersion | None = None
    shadow: ModelVersion | None = None

    def of(self, slot: Slot) -> ModelVersion | None:
        """The version in ``slot`` (None: the slot is empty)."""
        return {Slot.PRIMARY: self.primary, Slot.CANARY: self.canary,
                Slot.SHADOW: self.shadow}[slot]


class ModelDetail(Result):
    """A model: its versions, where each is deployed now, and the deployment history.

    In the JSON each version also lists the environments it serves (``environments``).
    """

    # ``deployed`` maps each stored target to the version serving it: an environment's name
    # for its primary, ``ENV:canary`` and ``ENV:shadow`` for the others
    # (rasad.registry.slots), each slot just after its environment.

    name: str
    deployed: dict[str, int]
    versions: list[ModelVersion]
    history: list[Deployment]

    def environments_of(self, version: int) -> list[str]:
        """The environments ``version`` serves now, in the project's order."""
        return [env for env, v in self.deployed.items() if v == version]

    @field_serializer("versions")
    def _with_environments(self, versions: list[ModelVersion]) -> list[ListedVersion]:
        # Copies without validation: the versions were validated when they were built.
        return [ListedVersion.model_construct(**dict(v),
                                              environments=self.environments_of(v.version))
                for v in versions]


class ListedVersion(ModelVersion):
    """A version as :class:`ModelDetail`'s JSON lists it: with the environments it serves."""

    environments: list[str]


__all__ = ["Deployment", "DeploymentKind", "ListedVersion", "ModelDetail", "ModelVersion",
           "Registration", "Retirement", "ServingSet"]
