"""Schemas and validations inside a project: versioned, stored, audited.

A dataset name has versioned schemas (inferred with ``rasad schema infer``, edited
and saved again). A schema declared in ``rasad.yaml`` (``validation.schemas``)
overrides the stored ones. Every validation of a project dataset version is stored
with its full report (values masked) and an audit event.

The use-cases of ``rasad schema``, ``rasad validate``, ``rasad quality`` and ``rasad pii
scan`` live here, for the CLI, the :class:`rasad.Project` facade and the HTTP API alike:
:func:`infer_dataset_schema`, :func:`save_schema_file`, :func:`validate_dataset`,
:func:`validate_file`, :func:`dataset_quality` and :func:`scan_dataset`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import pyarrow
from pydantic import AliasChoices, Field, PlainSerializer, PlainValidator, WithJsonSchema
from sqlalchemy import func, select

from rasad.datasets.service import get as get_dataset
from rasad.datasets.service import load_frame
from rasad.errors import InputError, NotFoundError
from rasad.identity import Permission
from rasad.ledger import canonical_json
from rasad.results import Result
from rasad.store._tables import SchemaVersionRow, ValidationRow
from rasad.tables import read_table
from rasad.validation.infer import infer_schema
from rasad.validation.pii import DEFAULT_SAMPLE_ROWS, PIIReport, scan
from rasad.validation.quality import QualityReport, quality
from rasad.validation.schema import TableSchema
from rasad.validation.validate import ValidationReport, validate

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.datasets import DatasetVersion


def _read_schema(value: Any) -> TableSchema:
    return value if isinstance(value, TableSchema) else TableSchema.from_dict(value)


def _schema_document(schema: TableSchema) -> dict[str, Any]:
    return schema.to_dict()


SchemaDocument = Annotated[
    TableSchema,
    PlainValidator(_read_schema),
    PlainSerializer(_schema_document, return_type=dict),
    WithJsonSchema({"type": "object",
                    "description": "A table schema in the layout of its YAML file "
                                   "(docs/validation.md)."}),
]
"""A :class:`TableSchema` inside a result: written and read as its YAML layout."""


class StoredSchema(Result):
    """A schema and where it came from (a stored version, a file, or inferred from data).

    ``version`` is None for a schema stored nowhere (a file, one declared in rasad.yaml,
    one inferred from a file).
    """

    dataset: str
    version: int | None
    source: str
    content_hash: str = Field(serialization_alias="sha256",
                              validation_alias=AliasChoices("sha256", "content_hash"))
    created_by: str | None = None
    created_at: str | None = None
    table_schema: SchemaDocument = Field(serialization_alias="schema",
                                         validation_alias=AliasChoices("schema",
                                                                       "table_schema"))

    @property
    def label(self) -> str:
        """``"loans schema v2"`` for a stored version, else the source."""
        return f"{self.dataset} schema v{self.version}" if self.version else self.source


class StoredValidation(Result):
    """A validation recorded for a dataset version (the row; the report is in ``blob``)."""

    id: int
    dataset: str
    schema_label: str = Field(serialization_alias="schema",
                              validation_alias=AliasChoices("schema", "schema_label"))
    ok: bool
    errors: int
    warnings: int
    blob: str
    created_at: str


class ValidationRecord(Result):
    """The stored blob of a validation: the dataset, the schema and the masked report."""

    dataset: str
    schema_label: str = Field(serialization_alias="schema",
                              validation_alias=AliasChoices("schema", "schema_label"))
    schema_sha256: str
    report: ValidationReport


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_schema(ctx: Context, dataset: str, schema: TableSchema, source: str) -> StoredSchema:
    """Store ``schema`` as the next version for ``dataset`` (unchanged content is not stored).

    Needs ``dataset.write``: a schema is part of the data's contract.
    """
    from rasad.names import check_name

    check_name(dataset)
    action = f"save a schema of dataset {dataset!r}"
    ctx.require(Permission.DATASET_WRITE, action)
    text = schema.to_yaml()
    digest = _hash(text)
    with ctx.transaction(Permission.DATASET_WRITE, action) as tx:
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
    return StoredSchema(dataset=row.dataset, version=row.version, source=row.source,
                        table_schema=TableSchema.from_yaml(row.content),
                        content_hash=row.content_hash, created_by=row.created_by,
                        created_at=row.created_at)


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
    return StoredSchema(dataset=dataset, version=None, source=source or str(path),
                        table_schema=schema, content_hash=_hash(schema.to_yaml()))


def get_schema(ctx: Context, dataset: str, version: int | None = None) -> StoredSchema:
    """The schema for ``dataset``: declared in rasad.yaml first, else the latest stored one."""
    ctx.require(Permission.READ, f"read the schema of dataset {dataset!r}")
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
    """The schema in force for ``dataset`` (see :func:`get_schema`), or None."""
    try:
        return get_schema(ctx, dataset)
    except NotFoundError:
        return None


def validate_version(ctx: Context, version: DatasetVersion,
                     schema: StoredSchema) -> tuple[ValidationReport, StoredValidation]:
    """Validate a stored dataset version and record the result with its audit event.

    Needs ``dataset.write``: the stored validation is a record about the data, made by
    whoever may add it (``rasad validate FILE --schema`` stores nothing and needs none).
    """
    action = f"record a validation of {version.ref}"
    ctx.require(Permission.DATASET_WRITE, action)
    frame = load_frame(ctx, version)
    report = validate(frame, schema.table_schema)
    # Stored masked: an identifier or free-text column can hold personal data.
    record = ValidationRecord(dataset=version.ref, schema_label=schema.label,
                              schema_sha256=schema.content_hash, report=report.masked())
    blob = ctx.artifacts.put_bytes(canonical_json(record.to_dict()).encode("utf-8"))
    with ctx.transaction(Permission.DATASET_WRITE, action) as tx:
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
        stored = StoredValidation(id=row.id, dataset=version.ref, schema_label=schema.label,
                                  ok=report.ok, errors=len(report.errors),
                                  warnings=len(report.warnings), blob=blob,
                                  created_at=row.created_at)
    return report, stored


def validations(ctx: Context, dataset: str | None = None) -> list[StoredValidation]:
    """The validations recorded, oldest first; only those of ``dataset`` when given."""
    from rasad.store._tables import DatasetVersionRow

    ctx.require(Permission.READ, "list validations")
    with ctx.db.read() as session:
        query = (select(ValidationRow, DatasetVersionRow.name, DatasetVersionRow.version)
                 .join(DatasetVersionRow, DatasetVersionRow.id == ValidationRow.dataset_version_id)
                 .order_by(ValidationRow.id))
        if dataset is not None:
            query = query.where(DatasetVersionRow.name == dataset)
        return [StoredValidation(id=r.id, dataset=f"{n}@{v}", schema_label=r.schema_source,
                                 ok=r.ok, errors=r.errors, warnings=r.warnings, blob=r.blob,
                                 created_at=r.created_at)
                for r, n, v in session.execute(query)]


def validation_record(ctx: Context, stored: StoredValidation) -> ValidationRecord:
    """The stored blob of a validation: its dataset, schema and masked report."""
    return ValidationRecord.from_json(ctx.artifacts.get_bytes(stored.blob))


def infer_data_schema(data: pd.DataFrame | pyarrow.Table | str | os.PathLike[str], *,
                      label: str, tolerance: float = 0.1, id_columns: Sequence[str] = (),
                      time_columns: Sequence[str] = ()) -> StoredSchema:
    """Infer the schema of ``data`` (a file or a table), stored nowhere.

    ``label`` names the data (``dataset`` and ``source`` of the result); the other
    arguments are those of :func:`rasad.validation.infer_schema`.
    """
    schema = infer_schema(data, tolerance=tolerance, source=label, id_columns=list(id_columns),
                          time_columns=list(time_columns))
    return StoredSchema(dataset=label, version=None, source=f"inferred from {label}",
                        table_schema=schema, content_hash=_hash(schema.to_yaml()))


def infer_dataset_schema(ctx: Context, version: DatasetVersion, *,
                         tolerance: float = 0.1) -> StoredSchema:
    """Infer the schema of a dataset version and store it as the name's next schema version.

    The identifier and time columns declared in ``rasad.yaml`` (``data.id_columns``,
    ``data.time_columns``) that the version has are inferred as such. Content equal to
    the latest stored version is not stored again (see :func:`save_schema`).
    """
    ctx.require(Permission.DATASET_WRITE, f"save a schema of dataset {version.name!r}")
    data = ctx.config.data
    inferred = infer_data_schema(
        load_frame(ctx, version), label=version.ref, tolerance=tolerance,
        id_columns=[c for c in data.id_columns if c in version.kinds],
        time_columns=[c for c in data.time_columns if c in version.kinds])
    return save_schema(ctx, version.name, inferred.table_schema, source=inferred.source)


def save_schema_file(ctx: Context, dataset: str, path: str | os.PathLike[str]) -> StoredSchema:
    """Store an edited schema file as the next schema version of ``dataset``.

    Raises
    ------
    InputError
        If the file is not a valid schema, or names a column the latest version of
        ``dataset`` does not have.
    NotFoundError
        If there is no dataset of that name.
    """
    ctx.require(Permission.DATASET_WRITE, f"save a schema of dataset {dataset!r}")
    schema = TableSchema.read(path)
    latest = get_dataset(ctx, dataset)  # the dataset must exist
    unknown = [c.name for c in schema.columns if c.name not in latest.kinds]
    if unknown:
        raise InputError(f"{path} names column(s) {', '.join(map(repr, unknown))} that "
                         f"{latest.ref} does not have; its columns are "
                         f"{', '.join(latest.kinds)}.")
    return save_schema(ctx, dataset, schema, source=f"saved from {path}")


def check_applies(schema: StoredSchema, columns: Iterable[str], label: str) -> None:
    """Refuse a schema that names none of the data's columns: it is another table's.

    >>> from rasad.validation import ColumnSchema
    >>> from rasad.tables import ColumnKind
    >>> stored = StoredSchema(dataset="loans", version=2, source="inferred", content_hash="0",
    ...     table_schema=TableSchema(columns=(ColumnSchema(name="age",
    ...         kind=ColumnKind.NUMERIC, dtype="int64"),)))
    >>> check_applies(stored, ["income"], "other.csv")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: The schema loans schema v2 names none of other.csv's columns;
    it is the schema of other data. Pass the right --schema.
    """
    present = set(columns)
    if not any(c.name in present for c in schema.table_schema.columns):
        raise InputError(f"The schema {schema.label} names none of {label}'s columns; it is "
                         "the schema of other data. Pass the right --schema.")


def validate_dataset(ctx: Context, version: DatasetVersion, *,
                     schema_path: str | os.PathLike[str] | None = None) -> ValidationReport:
    """Validate a dataset version, store the masked report and its audit event.

    The schema is the file ``schema_path`` when given, else the one in force for the
    dataset (:func:`get_schema`). The report returned is labelled with the version and
    the schema, and is not masked: mask it (:meth:`ValidationReport.masked`) before
    showing or sending it.

    Raises
    ------
    NotFoundError
        If no schema is given and the dataset has none.
    InputError
        If the schema file is not valid, or names none of the version's columns.
    """
    ctx.require(Permission.DATASET_WRITE, f"record a validation of {version.ref}")
    schema = (file_schema(Path(schema_path), version.name) if schema_path is not None
              else get_schema(ctx, version.name))
    check_applies(schema, version.kinds, version.ref)
    report, _ = validate_version(ctx, version, schema)
    return report.labelled(version.ref, schema.label)


def validate_file(data: str | os.PathLike[str], schema_path: str | os.PathLike[str], *,
                  label: str | None = None) -> ValidationReport:
    """Validate a CSV, TSV or Parquet file against a schema file; nothing is stored.

    ``label`` names the data in the report (default: the path). The report is labelled
    and not masked, as for :func:`validate_dataset`.

    Raises
    ------
    InputError
        If a file cannot be read, the schema is not valid, or it names none of the
        data's columns.
    """
    label = label or str(data)
    schema = file_schema(Path(schema_path), label)
    table = read_table(data)
    check_applies(schema, table.column_names, label)
    return validate(table, schema.table_schema).labelled(label, schema.label)


def dataset_quality(ctx: Context, version: DatasetVersion, *,
                    target: str | None = None) -> QualityReport:
    """The quality report of a dataset version, labelled with it.

    The identifier and time columns declared in ``rasad.yaml`` are never checked for
    leakage.
    """
    data = ctx.config.data
    report = quality(load_frame(ctx, version), target=target,
                     id_columns=tuple(c for c in data.id_columns if c in version.kinds),
                     time_columns=tuple(c for c in data.time_columns if c in version.kinds))
    return report.labelled(version.ref)


def scan_dataset(ctx: Context, version: DatasetVersion, *,
                 protected_attributes: Sequence[str] | None = None,
                 sample_rows: int | None = DEFAULT_SAMPLE_ROWS) -> PIIReport:
    """Scan a dataset version for personal data (see :func:`rasad.validation.pii.scan`).

    ``protected_attributes`` defaults to ``data.protected_attributes`` in ``rasad.yaml``.
    """
    if protected_attributes is None:
        protected_attributes = ctx.config.data.protected_attributes
    report = scan(load_frame(ctx, version), protected_attributes=protected_attributes,
                  sample_rows=sample_rows)
    return report.labelled(version.ref)


def summary_line(report: ValidationReport) -> str:
    """One line for people: ``"2 error(s), 0 warning(s) (nulls on age; ...)"``."""
    if report.ok and not report.warnings:
        return "valid: every check passed"
    parts = [f"{len(report.errors)} error(s)", f"{len(report.warnings)} warning(s)"]
    first = [f"{r.check.value} on {r.column or 'table'}" for r in report.errors[:3]]
    return ", ".join(parts) + (f" ({'; '.join(first)})" if first else "")
