"""The metadata tables, declared once for the ORM and for Alembic.

Times are stored as ISO-8601 UTC strings with microseconds: the audit hash covers
the exact stored text, so a value must round-trip byte for byte through SQLite
and PostgreSQL alike. JSON documents are stored as canonical JSON text for the
same reason.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class LedgerHead(Base):
    """One row: the last sequence number and hash. Writers lock it to serialise appends."""

    __tablename__ = "ledger_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[str] = mapped_column(String(32), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False, index=True)
    details: Mapped[str] = mapped_column(Text, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class DatasetVersionRow(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        Index("ix_dataset_versions_name_hash", "name", "content_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    blob: Mapped[str] = mapped_column(String(64), nullable=False)
    rows: Mapped[int] = mapped_column(BigInteger, nullable=False)
    columns: Mapped[int] = mapped_column(Integer, nullable=False)
    kinds: Mapped[str] = mapped_column(Text, nullable=False)
    profile: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    params: Mapped[str] = mapped_column(Text, nullable=False)
    metrics: Mapped[str] = mapped_column(Text, nullable=False)
    environment: Mapped[str] = mapped_column(Text, nullable=False)
    code_version: Mapped[str] = mapped_column(Text, nullable=False)
    seed: Mapped[int | None] = mapped_column(Integer)
    model_blob: Mapped[str | None] = mapped_column(String(64))
    model_info: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(200), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    started_at: Mapped[str] = mapped_column(String(32), nullable=False)
    ended_at: Mapped[str | None] = mapped_column(String(32))
    duration_s: Mapped[float | None] = mapped_column(Float)


class RunDatasetRow(Base):
    __tablename__ = "run_datasets"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(50), nullable=False)


class StepMetricRow(Base):
    __tablename__ = "step_metrics"
    __table_args__ = (Index("ix_step_metrics_run_key_step", "run_id", "key", "step"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), nullable=False)
    key: Mapped[str] = mapped_column(String(250), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    step: Mapped[int] = mapped_column(BigInteger, nullable=False)
    logged_at: Mapped[float] = mapped_column(Float, nullable=False)


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), nullable=False)
    blob: Mapped[str] = mapped_column(String(64), nullable=False)
    task: Mapped[str] = mapped_column(String(20), nullable=False)
    signature: Mapped[str] = mapped_column(Text, nullable=False)
    trusted_types: Mapped[str] = mapped_column(Text, nullable=False)
    metrics: Mapped[str] = mapped_column(Text, nullable=False)
    classes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)


class DeploymentRow(Base):
    """Every time a version starts serving in an environment; the history is never edited."""

    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200), nullable=False)
    environment: Mapped[str] = mapped_column(String(100), nullable=False)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), nullable=False)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"))
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    deployed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    deployed_at: Mapped[str] = mapped_column(String(32), nullable=False)
    # The promotion request that deployed it (its gates, approvals or break-glass); None
    # for a rollback and for deployments made before requests existed.
    request_id: Mapped[int | None] = mapped_column(ForeignKey("promotion_requests.id"),
                                                   index=True)


class CurrentDeploymentRow(Base):
    """The version serving each (model, environment): the primary key makes it at most one."""

    __tablename__ = "current_deployments"
    model_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    environment: Mapped[str] = mapped_column(String(100), primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class MonitorResultRow(Base):
    """A saved check result (drift, performance): summary here, full JSON as a blob."""

    __tablename__ = "monitor_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(50), nullable=False)
    reference: Mapped[str] = mapped_column(Text, nullable=False)
    current: Mapped[str] = mapped_column(Text, nullable=False)
    alert: Mapped[bool] = mapped_column(Boolean, nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    blob: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)


class SchemaVersionRow(Base):
    """A versioned, person-editable YAML schema attached to a dataset name."""

    __tablename__ = "schemas"
    __table_args__ = (UniqueConstraint("dataset", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)


class ValidationRow(Base):
    """One validation of a project dataset version: the verdict here, the report as a blob."""

    __tablename__ = "validations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"),
                                                    nullable=False, index=True)
    schema_source: Mapped[str] = mapped_column(Text, nullable=False)
    schema_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    errors: Mapped[int] = mapped_column(Integer, nullable=False)
    warnings: Mapped[int] = mapped_column(Integer, nullable=False)
    blob: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)


class ReferenceProfileRow(Base):
    """A dataset version's drift reference profile, computed once and kept as a blob."""

    __tablename__ = "reference_profiles"
    __table_args__ = (UniqueConstraint("dataset_version_id", "bins"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"),
                                                    nullable=False)
    bins: Mapped[int] = mapped_column(Integer, nullable=False)
    blob: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)


class PrincipalRow(Base):
    """A person or service account; disabled, never deleted (audit events name it)."""

    __tablename__ = "principals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)
    disabled_at: Mapped[str | None] = mapped_column(String(32))


class RoleGrantRow(Base):
    """A role a principal holds now; the ledger keeps every grant and revocation."""

    __tablename__ = "role_grants"
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(50), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(200), nullable=False)
    granted_at: Mapped[str] = mapped_column(String(32), nullable=False)


class ApiTokenRow(Base):
    """An API token: its public id and the SHA-256 of its secret, never the secret."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), nullable=False,
                                              index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    roles: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)
    expires_at: Mapped[str | None] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32))


class PromotionRequestRow(Base):
    """A candidate for an environment: its gate report (a blob), rule, and where it stands.

    Rows change only by status: a request is opened (or recorded as failed, promoted or
    forced) once, then decided; every change has its audit event.
    """

    __tablename__ = "promotion_requests"
    __table_args__ = (Index("ix_promotion_requests_model_name_environment", "model_name",
                            "environment"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200), nullable=False)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"),
                                                  nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    environment: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    gates_blob: Mapped[str] = mapped_column(String(64), nullable=False)
    gates_passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    evidence_key: Mapped[str] = mapped_column(Text, nullable=False)
    approvals_required: Mapped[int] = mapped_column(Integer, nullable=False)
    approver_roles: Mapped[str] = mapped_column(Text, nullable=False)
    break_glass: Mapped[bool] = mapped_column(Boolean, nullable=False)
    justification: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(200), nullable=False)
    opened_at: Mapped[str] = mapped_column(String(32), nullable=False)
    expires_at: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[str | None] = mapped_column(String(32))


class ApprovalRow(Base):
    """One person's decision on a request: approve, reject, or review (after break-glass).

    The unique constraint keeps one decision of each kind per person and request, so two
    processes recording the same approval at once cannot both succeed.
    """

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("request_id", "principal", "decision"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("promotion_requests.id"),
                                            nullable=False)
    principal: Mapped[str] = mapped_column(String(200), nullable=False)
    auth: Mapped[str] = mapped_column(String(100), nullable=False)
    decision: Mapped[str] = mapped_column(String(20), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)


# --- automation (rasad.automation, docs/automation.md) -----------------------------------


class WorkClaimRow(Base):
    """A piece of the agent's work (a file to ingest, a monitor run, a retraining step),
    claimed by one agent until ``lease_until``; past it another agent may take it over.

    The primary key makes a claim a single INSERT that only one agent can win; a takeover
    is an UPDATE guarded by the old owner and lease, so two agents cannot both take it.
    ``finished_at`` marks work done for good: it is never claimed again.
    """

    __tablename__ = "work_claims"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    lease_until: Mapped[str] = mapped_column(String(32), nullable=False)
    claimed_at: Mapped[str] = mapped_column(String(32), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    finished_at: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(Text)


class SourceFileRow(Base):
    """A file seen in an automation source: ingested as a dataset version, or rejected.

    ``fingerprint`` is the sha256 of the file's bytes: the same content under a new name is
    recognised, and a file rewritten in place is a new file.
    """

    __tablename__ = "source_files"
    __table_args__ = (UniqueConstraint("source", "fingerprint"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # ingested | rejected
    dataset_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))
    detail: Mapped[str | None] = mapped_column(Text)
    seen_at: Mapped[str] = mapped_column(String(32), nullable=False)


class MonitorStateRow(Base):
    """Where an automation monitor stands: its last run, its last firing (for the
    cooldown) and its next scheduled run."""

    __tablename__ = "monitor_states"
    monitor: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_run_at: Mapped[str | None] = mapped_column(String(32))
    last_status: Mapped[str | None] = mapped_column(String(20))  # ok | fired | failed | skipped
    last_result_id: Mapped[int | None] = mapped_column(ForeignKey("monitor_results.id"))
    last_fired_at: Mapped[str | None] = mapped_column(String(32))
    next_run_at: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class TriggerRow(Base):
    """A monitor (or a rejected file) that fired: what it found and what it set off.

    ``key`` is unique: the same finding fires once, however many agents saw it.
    """

    __tablename__ = "triggers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(400), nullable=False, unique=True)
    monitor: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(50), nullable=False)
    monitor_result_id: Mapped[int | None] = mapped_column(ForeignKey("monitor_results.id"))
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("source_files.id"))
    actions: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # open | done | failed
    fired_at: Mapped[str] = mapped_column(String(32), nullable=False)
    closed_at: Mapped[str | None] = mapped_column(String(32))


class PipelineStepRow(Base):
    """A finished step of a retraining pipeline, keyed by the hash of its inputs (as DVC
    keys its stages): a re-run with the same inputs reuses ``output`` instead of redoing it."""

    __tablename__ = "pipeline_steps"
    __table_args__ = (UniqueConstraint("step", "input_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger_id: Mapped[int | None] = mapped_column(ForeignKey("triggers.id"), index=True)
    step: Mapped[str] = mapped_column(String(50), nullable=False)
    input_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    output: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON
    finished_at: Mapped[str] = mapped_column(String(32), nullable=False)


class AlertRow(Base):
    """An alert: raised once per ``dedupe_key`` (a monitor and its cooldown window)."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(400), nullable=False, unique=True)
    monitor: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON
    trigger_id: Mapped[int | None] = mapped_column(ForeignKey("triggers.id"))
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)


class AlertDeliveryRow(Base):
    """One alert to one channel: pending until sent, retried with back-off, or failed."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "channel"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), nullable=False)
    channel: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[str | None] = mapped_column(String(32))


# --- data subjects (rasad.governance.subjects, docs/subjects.md) --------------------------


class SubjectIndexRow(Base):
    """A dataset version's subject-id index for one column: the sorted 64-bit prefixes of
    the keyed hashes of its values, kept as a blob (never the values).

    ``key_id`` names the key the hashes were made with (a hash of it under itself): an
    index made under another key is ignored and built again.
    """

    __tablename__ = "subject_indexes"
    __table_args__ = (UniqueConstraint("dataset_version_id", "column", "key_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"),
                                                    nullable=False)
    column: Mapped[str] = mapped_column(String(200), nullable=False)
    key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    entries: Mapped[int] = mapped_column(BigInteger, nullable=False)
    blob: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)


class ErasureRow(Base):
    """A data subject's erasure: the keyed hash of the subject's id (never the id), why,
    who, when, and by when the models trained on the subject's data must be retrained."""

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON
    retrain_due_at: Mapped[str] = mapped_column(String(32), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)


class ErasedVersionRow(Base):
    """A dataset version that held an erased subject: superseded by ``replaced_by_id`` (the
    version written without the subject) when it was its dataset's latest. ``rasad gc``
    removes its blob once the retention rule allows (docs/subjects.md)."""

    __tablename__ = "erased_versions"
    erasure_id: Mapped[int] = mapped_column(ForeignKey("erasures.id"), primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"),
                                                    primary_key=True, index=True)
    rows: Mapped[int] = mapped_column(BigInteger, nullable=False)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))


class RetrainFlagRow(Base):
    """'Retrain required': a model version trained on data that held an erased subject.

    Append-only: a flag is never edited; it stops being open when a newer version of the
    model, trained on none of the erasure's versions, is registered after it.
    """

    __tablename__ = "retrain_flags"
    __table_args__ = (UniqueConstraint("erasure_id", "model_version_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    erasure_id: Mapped[int] = mapped_column(ForeignKey("erasures.id"), nullable=False)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"),
                                                  nullable=False, index=True)
    due_at: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[str] = mapped_column(String(32), nullable=False)
