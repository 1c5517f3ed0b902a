"""Schemas and validations inside a project: versioned, stored, audited.

A dataset name has versioned schemas (inferred with ``rasad schema infer``, edited
and saved again). A schema declared in ``rasad.yaml`` (``validation.schemas``)
overrides the stored ones. Every validation of a project dataset version is stored
with its full report (values masked) and an audit event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from rasad.datasets.service import load_frame
from rasad.errors import NotFoundError
from rasad.ledger import canonical_json
from rasad.store._tables import SchemaVersionRow, ValidationRow
from rasad.validation.schema import TableSchema
from rasad.validation.validate import ValidationReport, validate

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.datasets import DatasetVersion


@dataclass(frozen=True)
class StoredSchema:
    """A schema and where it came from (a stored version, or a file declared in rasad.yaml)."""

    dataset: str
    version: int | None
    source: str
    schema: TableSchema
    content_hash: str
    created_by: str | None = None
    created_at: str | None = None

    @property
    def label(self) -> str:
        return f"{self.dataset} schema v{self.version}" if self.version else self.source

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "version": self.version, "source": self.source,
                "sha256": self.content_hash, "created_by": self.created_by,
                "created_at": self.created_at, "schema": self.schema.to_dict()}


@dataclass(frozen=True)
class StoredValidation:
    """A validation recorded for a dataset version."""

    id: int
    dataset: str
    schema: str
    ok: bool
    errors: int
    warnings: int
    blob: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_schema(ctx: Context, dataset: str, schema: TableSchema, source: str) -> StoredSchema:
    """Store ``schema`` as the next version for ``dataset`` (unchanged content is not stored)."""
    from rasad.names import check_name

    check_name(dataset)
    text = schema.to_yaml()
    digest = _hash(text)
    with ctx.transaction() as tx:
        latest = tx.session.execute(
            select(SchemaVersionRow).where(SchemaVersionRow.dataset == dataset)
            .order_by(SchemaVersionRow.version.desc()).limit(1)).scalar_one_or_none()
        if latest is not None and latest.content_hash == digest:
            return _stored(latest)
        version = (tx.session.execute(select(func.max(SchemaVersionRow.version)).where(
            SchemaVersionRow.dataset == dataset)).scalar() or 0) + 1
        row = SchemaVersionRow(dataset=dataset, version=version, source=source, content=text,
                               content_hash=digest, created_by=tx.actor, created_at=ctx.clock())
        tx.session.add(row)
        tx.session.flush()
        tx.record("schema.save", f"schema:{dataset}@{version}",
                  {"source": source, "sha256": digest, "columns": len(schema.columns)})
        return _stored(row)


def _stored(row: SchemaVersionRow) -> StoredSchema:
    return StoredSchema(row.dataset, row.version, row.source, TableSchema.from_yaml(row.content),
                        row.content_hash, row.created_by, row.created_at)


def declared_schema(ctx: Context, dataset: str) -> StoredSchema | None:
    """The schema file ``rasad.yaml`` declares for ``dataset``, if any."""
    declared = ctx.config.validation.schemas.get(dataset)
    if declared is None:
        return None
    path = Path(declared) if Path(declared).is_absolute() else ctx.root / declared
    return file_schema(path, dataset, source=f"declared in rasad.yaml: {declared}")


def file_schema(path: Path, dataset: str, *, source: str | None = None) -> StoredSchema:
    """A schema read from a YAML file, with its content hash, stored nowhere."""
    schema = TableSchema.read(path)
    return StoredSchema(dataset, None, source or str(path), schema, _hash(schema.to_yaml()))


def get_schema(ctx: Context, dataset: str, version: int | None = None) -> StoredSchema:
    """The schema for ``dataset``: declared in rasad.yaml first, else the latest stored one."""
    if version is None:
        declared = declared_schema(ctx, dataset)
        if declared is not None:
            return declared
    with ctx.db.read() as session:
        query = select(SchemaVersionRow).where(SchemaVersionRow.dataset == dataset)
        query = (query.where(SchemaVersionRow.version == version) if version is not None
                 else query.order_by(SchemaVersionRow.version.desc()).limit(1))
        row = session.execute(query).scalar_one_or_none()
        if row is not None:
            return _stored(row)
    raise NotFoundError(f"Dataset {dataset!r} has no schema"
                        + (f" version {version}" if version else "")
                        + f". Infer one with `rasad schema infer {dataset}`, or declare "
                        "a file under validation.schemas in rasad.yaml.")


def find_schema(ctx: Context, dataset: str) -> StoredSchema | None:
    try:
        return get_schema(ctx, dataset)
    except NotFoundError:
        return None


def validate_version(ctx: Context, version: DatasetVersion,
                     schema: StoredSchema) -> tuple[ValidationReport, StoredValidation]:
    """Validate a stored dataset version and record the result with its audit event."""
    frame = load_frame(ctx, version)
    report = validate(frame, schema.schema)
    payload = {"dataset": version.ref, "schema": schema.label,
               "schema_sha256": schema.content_hash, "report": report.to_dict(mask=True)}
    blob = ctx.artifacts.put_bytes(canonical_json(payload).encode("utf-8"))
    with ctx.transaction() as tx:
        row = ValidationRow(dataset_version_id=version.id, schema_source=schema.label,
                            schema_hash=schema.content_hash, ok=report.ok,
                            errors=len(report.errors), warnings=len(report.warnings),
                            blob=blob, created_by=tx.actor, created_at=ctx.clock())
        tx.session.add(row)
        tx.session.flush()
        tx.record("dataset.validate", f"dataset:{version.ref}", {
            "schema": schema.label, "schema_sha256": schema.content_hash, "ok": report.ok,
            "errors": len(report.errors), "warnings": len(report.warnings),
            "report_sha256": blob})
        stored = StoredValidation(row.id, version.ref, schema.label, report.ok,
                                  len(report.errors), len(report.warnings), blob,
                                  row.created_at)
    return report, stored


def validations(ctx: Context, dataset: str | None = None) -> list[StoredValidation]:
    from rasad.store._tables import DatasetVersionRow

    with ctx.db.read() as session:
        query = (select(ValidationRow, DatasetVersionRow.name, DatasetVersionRow.version)
                 .join(DatasetVersionRow, DatasetVersionRow.id == ValidationRow.dataset_version_id)
                 .order_by(ValidationRow.id))
        if dataset is not None:
            query = query.where(DatasetVersionRow.name == dataset)
        return [StoredValidation(r.id, f"{n}@{v}", r.schema_source, r.ok, r.errors, r.warnings,
                                 r.blob, r.created_at) for r, n, v in session.execute(query)]


def summary_line(report: ValidationReport) -> str:
    if report.ok and not report.warnings:
        return "valid: every check passed"
    parts = [f"{len(report.errors)} error(s)", f"{len(report.warnings)} warning(s)"]
    first = [f"{r.check.value} on {r.column or 'table'}" for r in report.errors[:3]]
    return ", ".join(parts) + (f" ({'; '.join(first)})" if first else "")


def report_json(report: ValidationReport) -> str:
    return json.dumps(report.to_dict(mask=True), indent=2, default=str)

