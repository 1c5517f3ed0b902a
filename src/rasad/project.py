"""The Project: the facade for Python users, with the same verbs as the CLI.

A project wires one :class:`~rasad.core.Context` (database, artifact store,
configuration, clock, acting principal) and passes it to the service functions,
which never import this module: every verb here is one call into a service.

>>> import tempfile
>>> project = Project.init(tempfile.mkdtemp(), name="loans")
>>> project.config.name, project.config.registry.environments
('loans', ['dev', 'staging', 'production'])
>>> project.verify_audit().ok
True
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rasad.config import CONFIG_FILE, STATE_DIR, TEMPLATE, ProjectConfig
from rasad.core import Context
from rasad.errors import ConflictError, NotFoundError
from rasad.identity import Permission
from rasad.identity.service import authorize, bootstrap_admin, is_claimed
from rasad.identity.tokens import DEFAULT_LIFETIME as DEFAULT_TOKEN_LIFETIME
from rasad.store import migrate

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.orm import Session

    from rasad.artifacts import ArtifactStore
    from rasad.compliance.evidence import EvidencePack, PackVerification
    from rasad.datasets import AddResult, DatasetVersion
    from rasad.drift import Chunker
    from rasad.evaluation.behaviour import ModelTestReport
    from rasad.evaluation.metrics import Metric, Task
    from rasad.governance.card_result import ModelCard
    from rasad.governance.datasheet_result import Datasheet
    from rasad.governance.fairness import FairnessPolicy
    from rasad.governance.fairness.report import FairnessAssessment
    from rasad.governance.inventory import Inventory
    from rasad.governance.subjects_result import ErasureResult, SubjectFindResult
    from rasad.identity import (
        CreatedToken,
        Principal,
        PrincipalInfo,
        PrincipalKind,
        Role,
        TokenInfo,
    )
    from rasad.ledger import AuditEvent, Tx, Verification
    from rasad.ledger.checkpoint import CheckpointResult
    from rasad.lineage import Emission
    from rasad.maintenance import GcReport
    from rasad.monitoring import EstimationReport, PerformanceReport, Threshold
    from rasad.monitoring.drift_check import DriftCheck, Side
    from rasad.monitoring.results import MonitorResult
    from rasad.monitoring.tracking import PerformanceCheck
    from rasad.registry import (
        Deployment,
        ModelDetail,
        ModelVersion,
        Registration,
        Retirement,
        Slot,
    )
    from rasad.release.requests import EnvironmentStatus, PromotionRequest, RequestStatus
    from rasad.remote import RemoteProject
    from rasad.serving import BatchResult
    from rasad.serving.compare import ServingComparison
    from rasad.serving.packaging import PackagePolicy, PackageResult
    from rasad.serving.predlog import LogWindow, PurgeReport
    from rasad.store import Database
    from rasad.training import ActiveRun, Run, RunComparison, TrainResult
    from rasad.validation.pii import PIIReport
    from rasad.validation.quality import QualityReport
    from rasad.validation.service import StoredSchema, StoredValidation
    from rasad.validation.validate import ValidationReport


class Project:
    """A rasad project: ``rasad.yaml`` plus its metadata database and artifact store.

    Build one with :meth:`init` (new) or :meth:`open` (existing); the constructor
    itself does no I/O beyond reading the configuration it is given.
    """

    def __init__(self, root: Path, config: ProjectConfig, *, actor: str | None = None) -> None:
        self.context = Context.build(root, config, actor=actor)

    @property
    def root(self) -> Path:
        return self.context.root

    @property
    def config(self) -> ProjectConfig:
        return self.context.config

    @property
    def db(self) -> Database:
        return self.context.db

    @property
    def artifacts(self) -> ArtifactStore:
        return self.context.artifacts

    @property
    def actor(self) -> str:
        """Who acts through this project: recorded on every audit event it writes."""
        return self.context.actor

    @property
    def clock(self) -> Callable[[], str]:
        return self.context.clock

    @property
    def principal(self) -> Principal:
        """Who acts, with its roles in force and how it authenticated."""
        return self.context.principal

    def require(self, permission: Permission, action: str) -> None:
        """Refuse ``action`` unless the principal holds ``permission``."""
        self.context.require(permission, action)

    def read(self) -> AbstractContextManager[Session]:
        """A read-only session (see :meth:`rasad.core.Context.read`)."""
        return self.context.read()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def init(cls, path: str | os.PathLike[str] = ".", *, name: str | None = None,
             config_text: str | None = None) -> Project:
        """Create a project in ``path``: a commented ``rasad.yaml``, ``.rasad/``, the tables.

        The local user creating it (``RASAD_USER``, else the operating-system user) is
        recorded as its first admin, in the same transaction; the ``project.init`` event
        names it (``first_admin``). On a shared database that has principals already
        (``RASAD_DATABASE_URL``), the creator must hold ``project.maintain`` there.

        ``config_text`` replaces the commented template (it is validated first).
        """
        root = Path(path).resolve()
        config_path = root / CONFIG_FILE
        if config_path.exists():
            raise ConflictError(f"{config_path} already exists; open the project instead "
                                f"(`rasad --project {root} ...`).")
        text = config_text or TEMPLATE.format(name=_yaml_scalar(name or root.name or "rasad"))
        config = ProjectConfig.from_yaml_text(text)
        project_name = config.name
        created_root = not root.exists()
        root.mkdir(parents=True, exist_ok=True)
        state = root / STATE_DIR
        state_existed = state.exists()
        try:
            state.mkdir(exist_ok=True)
            (state / ".gitignore").write_text("*\n", encoding="utf-8")
            project = cls(root, config)
            migrate.upgrade(project.db)
            details: dict[str, Any] = {"root": str(root),
                                       "config": config.model_dump(by_alias=True)}
            with project.transaction() as tx:
                if is_claimed(tx.session):  # a shared database: only its admins add a folder
                    authorize(tx, project.principal, Permission.PROJECT_MAINTAIN,
                              "initialise a project on this database, which has principals",
                              now=project.clock())
                else:  # the creator claims it: its first admin
                    bootstrap_admin(tx, project.actor, now=project.clock(), record=False)
                    details["first_admin"] = project.actor
                tx.record("project.init", f"project:{project_name}", details)
            config_path.write_text(text, encoding="utf-8")
        except BaseException:
            if created_root:
                shutil.rmtree(root, ignore_errors=True)
            elif not state_existed:
                shutil.rmtree(state, ignore_errors=True)
            raise
        return project

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, check: bool = True) -> Project:
        """Open the project at ``path``, or the nearest one above the current folder."""
        root = cls.find(Path(path) if path is not None else Path.cwd())
        project = cls(root, ProjectConfig.load(root / CONFIG_FILE))
        if check:
            migrate.check_current(project.db)
        return project

    @classmethod
    def connect(cls, url: str, token: str) -> RemoteProject:
        """The project ``rasad server`` serves at ``url``, acting as ``token``'s principal.

        It has the verbs the management API covers, with these signatures and results;
        the others raise :class:`~rasad.errors.InputError` (docs/api.md, "Remote mode").
        """
        from rasad.remote import RemoteProject  # a door: loaded only when asked for
        return RemoteProject(url, token)

    @staticmethod
    def find(start: Path) -> Path:
        start = start.resolve()
        for folder in (start, *start.parents):
            if (folder / CONFIG_FILE).is_file():
                return folder
        raise NotFoundError(f"No rasad project in {start} or any folder above it. Run "
                            "`rasad init` to create one, or pass `--project DIR`.")

    def close(self) -> None:
        self.context.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r}, name={self.config.name!r})"

    def transaction(self, permission: Permission | None = None, action: str = "", *,
                    by: Principal | None = None) -> AbstractContextManager[Tx]:
        """A serialised write transaction (see :meth:`rasad.core.Context.transaction`)."""
        return self.context.transaction(permission, action, by=by)

    # -- identity --------------------------------------------------------------------------

    def add_principal(self, name: str, *, kind: PrincipalKind | str = "person",
                      roles: Iterable[Role] = ()) -> PrincipalInfo:
        """Add a person or service account (needs ``identity.manage``)."""
        from rasad.identity import PrincipalKind, service
        return service.add_principal(self.context, name, kind=PrincipalKind(kind), roles=roles,
                                     by=self.context.principal)

    def grant(self, name: str, *roles: Role) -> PrincipalInfo:
        from rasad.identity import service
        return service.grant(self.context, name, *roles, by=self.context.principal)

    def revoke_role(self, name: str, *roles: Role) -> PrincipalInfo:
        from rasad.identity import service
        return service.revoke_role(self.context, name, *roles, by=self.context.principal)

    def disable_principal(self, name: str) -> PrincipalInfo:
        from rasad.identity import service
        return service.disable(self.context, name, by=self.context.principal)

    def principals(self) -> list[PrincipalInfo]:
        from rasad.identity import service
        return service.list_principals(self.context)

    def create_token(self, name: str, *, roles: Iterable[Role] | None = None,
                     lifetime: timedelta | None = DEFAULT_TOKEN_LIFETIME) -> CreatedToken:
        """A new API token for ``name``: its text is in the result this once."""
        from rasad.identity import service
        return service.create_token(self.context, name, roles=roles, lifetime=lifetime,
                                    by=self.context.principal)

    def revoke_token(self, token_id: str) -> TokenInfo:
        from rasad.identity import service
        return service.revoke_token(self.context, token_id, by=self.context.principal)

    def tokens(self, name: str | None = None) -> list[TokenInfo]:
        from rasad.identity import service
        return service.list_tokens(self.context, name)

    # -- audit -----------------------------------------------------------------------------

    def audit_log(self, subject: str | None = None, action: str | None = None,
                  limit: int | None = None) -> list[AuditEvent]:
        from rasad import audit
        return audit.log(self.context, subject=subject, action=action, limit=limit)

    def verify_audit(self, *, checkpoints: str | None = None,
                     public_keys: Sequence[str] | None = None,
                     replay: bool = True) -> Verification:
        """Verify the ledger (see :func:`rasad.audit.verify`)."""
        from rasad import audit
        return audit.verify(self.context, checkpoints=checkpoints, public_keys=public_keys,
                            replay=replay)

    def checkpoint(self, *, to: str | None = None,
                   key: str | os.PathLike[str] | None = None) -> CheckpointResult:
        """Sign the ledger's head into a checkpoint store (see :func:`rasad.audit.checkpoint`)."""
        from rasad import audit
        return audit.checkpoint(self.context, to=to, key=key)

    def lineage_emit(self, *, since: int | None = None, until: int | None = None) -> Emission:
        """Send again the OpenLineage events of ledger entries ``since``..``until``
        (inclusive; default all) through ``rasad.yaml``'s ``lineage`` transport, e.g. after
        the endpoint was down (see :func:`rasad.lineage.replay`; docs/lineage.md)."""
        from rasad.lineage import replay
        return replay(self.context, since=since, until=until)

    # -- datasets --------------------------------------------------------------------------

    def add_dataset(self, source: str | os.PathLike[str] | pd.DataFrame, name: str,
                    *, description: str | None = None) -> AddResult:
        from rasad.datasets import service
        return service.add(self.context, source, name, description=description)

    def datasets(self, name: str | None = None) -> list[DatasetVersion]:
        from rasad.datasets import service
        return service.list_versions(self.context, name)

    def dataset(self, name: str, version: int | None = None) -> DatasetVersion:
        from rasad.datasets import service
        return service.get(self.context, name, version)

    def load_dataset(self, name: str, version: int | None = None) -> pd.DataFrame:
        from rasad.datasets import service
        return service.load_frame(self.context, self.dataset(name, version))

    # -- training --------------------------------------------------------------------------

    def start_run(self, name: str | None = None, *, params: dict[str, Any] | None = None,
                  seed: int | None = None) -> ActiveRun:
        from rasad.training import run as runs
        return runs.start(self.context, name=name, params=params, seed=seed)

    def train(self, **overrides: Any) -> TrainResult:
        """Train from ``rasad.yaml``'s ``training`` section, with keyword overrides."""
        from rasad.training import train
        return train.train(self.context, **overrides)

    def runs(self, status: str | None = None) -> list[Run]:
        from rasad.training import run as runs
        return runs.list_runs(self.context, status=status)

    def run(self, run_id: str) -> Run:
        from rasad.training import run as runs
        return runs.get(self.context, run_id)

    def compare_runs(self, *run_ids: str) -> RunComparison:
        from rasad.training import run as runs
        return runs.compare(self.context, list(run_ids))

    # -- registry --------------------------------------------------------------------------

    def register(self, run_id: str, name: str) -> ModelVersion:
        from rasad.registry import models
        return models.register(self.context, run_id, name).version

    def registration(self, run_id: str, name: str) -> Registration:
        """Register a run as model ``name`` and say whether a version was created."""
        from rasad.registry import models
        return models.register(self.context, run_id, name)

    def models(self) -> list[ModelDetail]:
        from rasad.registry import models
        return models.list_models(self.context)

    def model(self, name: str) -> ModelDetail:
        from rasad.registry import models
        return models.detail(self.context, name)

    def model_version(self, name: str, version: int | None = None,
                      env: str | None = None) -> ModelVersion:
        from rasad.registry import models
        return models.resolve(self.context, name, version=version, env=env)

    def load_model(self, name: str, version: int | None = None, env: str | None = None) -> Any:
        from rasad.registry import models
        version_ = models.resolve(self.context, name, version=version, env=env)
        return models.load(self.context, version_)

    def promote(self, name: str, version: int, to: str, *, reason: str | None = None,
                slot: Slot | str = "primary") -> Deployment | PromotionRequest:
        """Run ``to``'s gates, then deploy (a Deployment) or open a request for approval
        (a PromotionRequest); a blocking gate raises GatesFailed (docs/promotion.md).
        ``slot="canary"`` or ``"shadow"`` promotes beside ``to``'s primary."""
        from rasad.release import service
        return service.promote(self.context, name, version, to, reason=reason, slot=slot)

    def force_promote(self, name: str, version: int, to: str, *, justification: str,
                      slot: Slot | str = "primary") -> PromotionRequest:
        """Break-glass (admins): deploy past failed gates or missing approvals."""
        from rasad.release import service
        return service.force(self.context, name, version, to, justification=justification,
                             slot=slot)

    def retire(self, name: str, env: str, slot: Slot | str, *,
               reason: str | None = None) -> Retirement:
        """End the canary or shadow of ``name`` in ``env`` (docs/promotion.md)."""
        from rasad.registry import promotion
        return promotion.retire(self.context, name, env, slot, reason=reason)

    def approve(self, request_id: int, *, comment: str | None = None) -> PromotionRequest:
        from rasad.release import service
        return service.approve(self.context, request_id, comment=comment)

    def reject(self, request_id: int, *, comment: str) -> PromotionRequest:
        from rasad.release import service
        return service.reject(self.context, request_id, comment=comment)

    def review(self, request_id: int, *, comment: str) -> PromotionRequest:
        from rasad.release import service
        return service.review(self.context, request_id, comment=comment)

    def requests(self, *, model: str | None = None, environment: str | None = None,
                 status: RequestStatus | str | None = None) -> list[PromotionRequest]:
        from rasad.release import service
        return service.list_requests(self.context, model=model, environment=environment,
                                     status=status)

    def request(self, request_id: int) -> PromotionRequest:
        from rasad.release import service
        return service.get_request(self.context, request_id)

    def environment_status(self, name: str) -> list[EnvironmentStatus]:
        from rasad.release import service
        return service.environment_status(self.context, name)

    def inventory(self) -> Inventory:
        """Every registered model with its declared owner and risk tier, where it serves,
        its last validation and approval, open requests, unreviewed break-glass promotions,
        the automation loop's state and its last alert (docs/governance.md)."""
        from rasad.automation.inventory import inventory
        return inventory(self.context)

    def rollback(self, name: str, env: str, *, reason: str | None = None,
                 slot: Slot | str = "primary") -> Deployment:
        from rasad.registry import promotion
        return promotion.rollback(self.context, name, env, reason=reason, slot=slot)

    # -- validation ------------------------------------------------------------------------

    def infer_schema(self, dataset: str, *, tolerance: float = 0.1) -> StoredSchema:
        """Infer the schema of ``NAME[@VERSION]`` and store it as the name's next version."""
        from rasad.names import parse_ref
        from rasad.validation import service
        name, version = parse_ref(dataset)
        return service.infer_dataset_schema(self.context, self.dataset(name, version),
                                            tolerance=tolerance)

    def save_schema(self, dataset: str, path: str | os.PathLike[str]) -> StoredSchema:
        """Store an edited schema file as the dataset's next schema version."""
        from rasad.validation import service
        return service.save_schema_file(self.context, dataset, path)

    def schema(self, dataset: str, version: int | None = None) -> StoredSchema:
        """The schema in force for ``dataset`` (declared in rasad.yaml, else the latest)."""
        from rasad.validation import service
        return service.get_schema(self.context, dataset, version)

    def validate(self, dataset: str, *,
                 schema: str | os.PathLike[str] | None = None) -> ValidationReport:
        """Validate ``NAME[@VERSION]``; the masked report is stored with its audit event."""
        from rasad.names import parse_ref
        from rasad.validation import service
        name, version = parse_ref(dataset)
        return service.validate_dataset(self.context, self.dataset(name, version),
                                        schema_path=schema)

    def validations(self, dataset: str | None = None) -> list[StoredValidation]:
        from rasad.validation import service
        return service.validations(self.context, dataset)

    def quality(self, dataset: str, *, target: str | None = None) -> QualityReport:
        from rasad.names import parse_ref
        from rasad.validation import service
        name, version = parse_ref(dataset)
        return service.dataset_quality(self.context, self.dataset(name, version), target=target)

    def scan_pii(self, dataset: str, *, protected_attributes: Sequence[str] | None = None,
                 all_rows: bool = False) -> PIIReport:
        from rasad.names import parse_ref
        from rasad.validation import service
        from rasad.validation.pii import DEFAULT_SAMPLE_ROWS
        name, version = parse_ref(dataset)
        return service.scan_dataset(self.context, self.dataset(name, version),
                                    protected_attributes=protected_attributes,
                                    sample_rows=None if all_rows else DEFAULT_SAMPLE_ROWS)

    def datasheet(self, name: str, version: int | None = None) -> Datasheet:
        """The datasheet of ``name@version`` (the latest when ``version`` is None), generated
        from the records (see :func:`rasad.governance.datasheet.datasheet`)."""
        from rasad.governance import datasheet
        return datasheet.datasheet(self.context, name, version)

    def card(self, name: str, version: int | None = None) -> ModelCard:
        """The model card of ``name@version`` (the latest when ``version`` is None),
        generated from the records (see :func:`rasad.compliance.card.model_card`)."""
        from rasad.compliance.card import model_card
        return model_card(self.context, name, version)

    def subject_find(self, subject_id: str) -> SubjectFindResult:
        """The dataset versions, model versions and logged predictions that hold a data
        subject (``audit.read``; see :func:`rasad.governance.subjects.find`)."""
        from rasad.governance import subjects
        return subjects.find(self.context, subject_id)

    def subject_erase(self, subject_id: str, *, reason: str) -> ErasureResult:
        """Erase a data subject: new dataset versions without them, the prediction log
        redacted, the models trained on them flagged 'retrain required' (``subject.erase``;
        see :func:`rasad.governance.subjects.erase`)."""
        from rasad.governance import subjects
        return subjects.erase(self.context, subject_id, reason=reason)

    def evidence(self, framework: str, out: str | os.PathLike[str], *,
                 model: str | None = None, since: str | None = None,
                 until: str | None = None, force: bool = False,
                 key: str | os.PathLike[str] | None = None) -> EvidencePack:
        """Write the signed evidence pack of ``framework`` into folder ``out`` (see
        :func:`rasad.compliance.evidence.create`, docs/evidence.md)."""
        from rasad.compliance import evidence
        return evidence.create(self.context, framework, out, model=model, since=since,
                               until=until, force=force, key=key)

    def verify_evidence(self, path: str | os.PathLike[str], *,
                        public_keys: Sequence[str] | None = None) -> PackVerification:
        """Check an evidence pack's files and signature (see
        :func:`rasad.compliance.evidence.verify`)."""
        from rasad.compliance import evidence
        return evidence.verify(self.context, path, public_keys=public_keys)

    # -- fairness --------------------------------------------------------------------------

    def assess_fairness(self, model: str, dataset: str, *, version: int | None = None,
                        env: str | None = None, target: str | None = None,
                        protected: Sequence[str] | None = None,
                        favorable: bool | int | float | str | None = None,
                        intersections: bool = False, policy: FairnessPolicy | None = None,
                        n_boot: int = 1000, seed: int = 0, save: bool = True,
                        monitor: str = "fairness",
                        bins: dict[str, list[float] | None] | None = None,
                        favorable_source: str = "the favorable argument"
                        ) -> FairnessAssessment:
        """Score a dataset version with a registered model, assess and store its fairness
        (see :func:`rasad.governance.fairness.service.assess_model`)."""
        from rasad.governance.fairness import service
        return service.assess_model(
            self.context, model, dataset, version=version, env=env, target=target,
            protected=protected, favorable=favorable, intersections=intersections,
            policy=policy, n_boot=n_boot, seed=seed, save=save, monitor=monitor, bins=bins,
            favorable_source=favorable_source)

    def fairness_assessments(self, monitor: str | None = None) -> list[MonitorResult]:
        """Saved fairness assessments, oldest first."""
        from rasad.governance.fairness import service
        return service.list_assessments(self.context, monitor)

    def test_model(self, name: str, version: int | None = None, *,
                   data: str | None = None) -> ModelTestReport:
        """Run the behavioural tests of ``promotion.tests`` on a model version; writes
        nothing (see :func:`rasad.release.model_tests.run_model_tests`)."""
        from rasad.release import model_tests
        return model_tests.run_model_tests(self.context, name, version, data=data)

    # -- performance -----------------------------------------------------------------------

    def track_performance(self, reference: DatasetVersion | str,
                          current: DatasetVersion | str | LogWindow,
                          *, target: str, prediction: str, task: Task | str = "classification",
                          score: str | None = None, chunker: Chunker | None = None,
                          metrics: Iterable[Metric | str] | str | None = None,
                          threshold: Threshold | None = None, min_chunk_rows: int = 30,
                          save: bool = False, monitor: str = "performance"
                          ) -> PerformanceCheck[PerformanceReport]:
        """Realized metrics per chunk of two dataset versions, or of a window of the
        prediction log joined with its feedback (``current`` a
        :class:`~rasad.serving.predlog.LogWindow`); ``save`` keeps the report (see
        :func:`rasad.monitoring.tracking.track_performance`,
        :func:`rasad.serving.predlog.track_performance`)."""
        from rasad.serving import predlog
        if isinstance(current, predlog.LogWindow):
            return predlog.track_performance(
                self.context, reference, current, target=target, prediction=prediction,
                task=task, score=score, chunker=chunker, metrics=metrics, threshold=threshold,
                min_chunk_rows=min_chunk_rows, save=save, monitor=monitor)
        from rasad.monitoring import tracking
        return tracking.track_performance(
            self.context, reference, current, target=target, prediction=prediction, task=task,
            score=score, chunker=chunker, metrics=metrics, threshold=threshold,
            min_chunk_rows=min_chunk_rows, save=save, monitor=monitor)

    def estimate_performance(self, reference: DatasetVersion | str,
                             current: DatasetVersion | str, *, target: str, prediction: str,
                             task: Task | str = "classification", score: str | None = None,
                             features: Sequence[str] | None = None,
                             chunker: Chunker | None = None, threshold: Threshold | None = None,
                             save: bool = False, monitor: str = "estimation"
                             ) -> PerformanceCheck[EstimationReport]:
        """Estimated metrics per chunk without labels (CBPE, or DLE for regression); ``save``
        keeps the report (see :func:`rasad.monitoring.tracking.estimate_performance`)."""
        from rasad.monitoring import tracking
        return tracking.estimate_performance(
            self.context, reference, current, target=target, prediction=prediction, task=task,
            score=score, features=features, chunker=chunker, threshold=threshold, save=save,
            monitor=monitor)

    def performance_report(self, result: MonitorResult) -> PerformanceReport | EstimationReport:
        """The typed report a saved ``performance`` or ``estimation`` result holds."""
        from rasad.monitoring import tracking
        return tracking.stored_report(self.context, result)

    # -- scoring and upkeep ----------------------------------------------------------------

    def predict(self, name: str, data: str | os.PathLike[str] | pd.DataFrame, *,
                version: int | None = None, env: str | None = None,
                output: str | os.PathLike[str] | None = None,
                strict_categories: bool = False, explain: bool = False) -> BatchResult:
        """Score ``data``; with ``explain``, each row's reason codes too
        (docs/explanations.md)."""
        from rasad.serving import batch
        return batch.predict(self.context, name, data, version=version, env=env, output=output,
                             strict_categories=strict_categories, explain=explain)

    def package(self, env: str, out: str | os.PathLike[str], *, image: str | None = None,
                replicas: int = 2, port: int = 8080, force: bool = False,
                base_image: str | None = None, agent: str | None = "auto",
                agent_schedule: str | None = None, policy: PackagePolicy | None = None
                ) -> PackageResult:
        """Write the serving image's build context and Kubernetes manifests for ``env``
        (and the automation agent's, per ``agent``) into the folder ``out`` (see
        :func:`rasad.serving.packaging.package`)."""
        from rasad.serving import packaging
        return packaging.package(self.context, env, out, image=image, replicas=replicas,
                                 port=port, force=force, base_image=base_image, agent=agent,
                                 agent_schedule=agent_schedule,
                                 policy=policy or packaging.DEFAULT_POLICY)

    def save_monitor_result(self, *, monitor: str, kind: str, reference: str, current: str,
                            alert: bool, summary: dict[str, Any], payload: dict[str, Any]
                            ) -> MonitorResult:
        from rasad.monitoring import results
        return results.save_result(self.context, monitor=monitor, kind=kind, reference=reference,
                                   current=current, alert=alert, summary=summary,
                                   payload=payload)

    def monitor_results(self, monitor: str | None = None, kind: str | None = None
                        ) -> list[MonitorResult]:
        """Saved results (drift, performance, estimation, fairness), oldest first."""
        from rasad.monitoring import results
        return results.list_results(self.context, monitor, kind)

    def monitor_result(self, result_id: int) -> MonitorResult:
        from rasad.monitoring import results
        return results.get_result(self.context, result_id)

    def monitor_report(self, result_id: int) -> dict[str, Any]:
        """The full saved report of result ``result_id`` (its blob, hash-checked)."""
        from rasad.monitoring import results
        return results.load_payload(self.context, results.get_result(self.context, result_id))

    # -- drift -----------------------------------------------------------------------------

    def check_drift(self, reference: Side | None, current: Side | LogWindow, *,
                    columns: Sequence[str] | None = None, chunker: Chunker | None = None,
                    multivariate: bool = False, use_profile: bool = False, save: bool = False,
                    monitor: str = "drift") -> DriftCheck:
        """Compare ``current`` with ``reference`` (dataset versions, frames or files, or a
        window of the prediction log's inputs as ``current``, when ``reference`` None means
        the model's training data); ``save`` keeps the result (see
        :func:`rasad.monitoring.drift_check.check`, :func:`rasad.serving.predlog.check_drift`)."""
        from rasad.serving import predlog
        if isinstance(current, predlog.LogWindow):
            return predlog.check_drift(self.context, reference, current, columns=columns,
                                       chunker=chunker, multivariate=multivariate,
                                       use_profile=use_profile, save=save, monitor=monitor)
        if reference is None:
            from rasad.errors import InputError
            raise InputError("A drift check needs reference data; only a window of the "
                             "prediction log defaults to the model's training data.")
        from rasad.monitoring import drift_check
        return drift_check.check(self.context, reference, current, columns=columns,
                                 chunker=chunker, multivariate=multivariate,
                                 use_profile=use_profile, save=save, monitor=monitor)

    def gc(self, *, dry_run: bool = True, min_age_s: float = 3600.0) -> GcReport:
        from rasad import maintenance
        return maintenance.gc(self.context, dry_run=dry_run, min_age_s=min_age_s)

    # -- the prediction log ----------------------------------------------------------------

    def compare_serving(self, model: str, env: str, *, since: datetime | None = None,
                        until: datetime | None = None) -> ServingComparison:
        """How the primary, canary and shadow of ``model`` in ``env`` compared, from the
        prediction log and its feedback (see :func:`rasad.serving.compare.compare`)."""
        from rasad.serving import compare
        return compare.compare(self.context, model, env, since=since, until=until)

    def purge_predictions(self, *, older_than_days: float | None = None,
                          dry_run: bool = False) -> PurgeReport:
        """Delete the prediction log's segments older than ``serving.log.retention_days``
        (or ``older_than_days``); see :func:`rasad.serving.predlog.purge`."""
        from rasad.serving import predlog
        return predlog.purge(self.context, older_than_days=older_than_days, dry_run=dry_run)


def _yaml_scalar(value: str) -> str:
    import yaml
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
