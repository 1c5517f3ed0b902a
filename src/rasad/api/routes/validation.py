"""``/schemas``, ``/validations``, ``/quality``, ``/pii-scans``: the checks of a stored
dataset version (``rasad schema``, ``rasad validate``, ``rasad quality``, ``rasad pii scan``).

The server reads no client path: a schema to save is uploaded as a file, and a schema to
validate against is sent as its YAML text. Reports are sent as the CLI shows them:
validation examples masked, PII examples masked when found.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import Field, StringConstraints

from rasad.api.auth import ContextDep
from rasad.api.bodies import NO_NUL, ClientPath, NamePath, respond
from rasad.core import Context
from rasad.datasets import DatasetVersion
from rasad.datasets import service as datasets
from rasad.errors import InputError
from rasad.identity import Permission
from rasad.names import parse_ref
from rasad.results import Result
from rasad.validation import service
from rasad.validation.pii import DEFAULT_SAMPLE_ROWS, PIIReport
from rasad.validation.quality import QualityReport
from rasad.validation.schema import TableSchema
from rasad.validation.service import StoredSchema, StoredValidation
from rasad.validation.validate import ValidationReport

router = APIRouter(tags=["validation"])

# A schema file is a few kilobytes per column; a megabyte is far beyond any real one.
MAX_SCHEMA_BYTES = 1 << 20

DatasetRef = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=200)]
ColumnName = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=500)]


class InferenceRequest(Result):
    """Infer the schema of a dataset version (``rasad schema infer NAME[@VERSION]``)."""

    version: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="The dataset version (default: the latest).")
    tolerance: float = Field(default=0.1, ge=0, le=1e6,
                             description="Range tolerance, a share of the observed span.")


class ValidationRequest(Result):
    """Validate ``dataset`` (``NAME[@VERSION]``) and store the masked report."""

    dataset: DatasetRef
    schema_yaml: Annotated[str, StringConstraints(pattern=NO_NUL,
                                                  max_length=MAX_SCHEMA_BYTES)] | None = Field(
        default=None, description="A schema's YAML text (default: the dataset's schema).")
    schema_name: ClientPath | None = Field(default=None, description=(
        "The schema file as the client names it, to label the report."))


class QualityRequest(Result):
    """The quality report of ``dataset`` (``NAME[@VERSION]``); nothing is stored."""

    dataset: DatasetRef
    target: ColumnName | None = None


class ScanRequest(Result):
    """Scan ``dataset`` (``NAME[@VERSION]``) for personal data; nothing is stored."""

    dataset: DatasetRef
    protected_attributes: list[ColumnName] | None = Field(
        default=None, max_length=1000,
        description="Default: data.protected_attributes in rasad.yaml.")
    all_rows: bool = Field(default=False, description="Scan every row, not a sample.")


def _version(ctx: Context, ref: str) -> DatasetVersion:
    name, version = parse_ref(ref)
    return datasets.get(ctx, name, version)


# ---- schemas --------------------------------------------------------------------------


@router.post("/schemas/{name}/inferences", status_code=201, response_model=StoredSchema)
def infer(ctx: ContextDep, name: NamePath, body: InferenceRequest) -> Response:
    """Infer a dataset version's schema and store it as the name's next schema version
    (unchanged content is not stored again). ``rasad schema infer NAME[@VERSION]``."""
    version = datasets.get(ctx, name, body.version)
    return respond(service.infer_dataset_schema(ctx, version, tolerance=body.tolerance), 201)


@router.get("/schemas/{name}", response_model=StoredSchema)
def show(ctx: ContextDep, name: NamePath,
         version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """The schema in force (declared in rasad.yaml, else the latest stored), or one stored
    version. ``rasad schema show NAME``."""
    return respond(service.get_schema(ctx, name, version))


@router.post("/schemas/{name}", status_code=201, response_model=StoredSchema)
def save(ctx: ContextDep, name: NamePath,
         file: Annotated[UploadFile, File(description="An edited schema YAML file.")],
         schema_name: Annotated[ClientPath | None, Form(description=(
             "The file as the client names it (the path given to `rasad schema save`), to "
             "label what was saved; default the uploaded file's name."))] = None,
         ) -> Response:
    """Store an uploaded schema file as the dataset's next schema version. ``rasad schema
    save NAME FILE``."""
    ctx.require(Permission.DATASET_WRITE, f"save a schema of dataset {name!r}")
    label = schema_name or _file_label(file.filename)
    schema = _parse(_schema_text(file.file.read(MAX_SCHEMA_BYTES + 1), label), label)
    latest = datasets.get(ctx, name)  # the dataset must exist
    unknown = [c.name for c in schema.columns if c.name not in latest.kinds]
    if unknown:
        raise InputError(f"{label} names column(s) {', '.join(map(repr, unknown))} that "
                         f"{latest.ref} does not have; its columns are "
                         f"{', '.join(latest.kinds)}.")
    return respond(service.save_schema(ctx, name, schema, source=f"saved from {label}"), 201)


def _file_label(filename: str | None) -> str:
    """The client's file name (never a path on the server), to label what was saved."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "")
    return base[:200] or "schema.yaml"


def _parse(text: str, label: str) -> TableSchema:
    try:
        return TableSchema.from_yaml(text)
    except InputError as error:
        raise InputError(f"{label}: {error}") from None


def _schema_text(data: bytes, label: str) -> str:
    if len(data) > MAX_SCHEMA_BYTES:
        raise InputError(f"{label} is larger than {MAX_SCHEMA_BYTES:,} bytes; a schema file "
                         "is a few kilobytes. Upload the YAML written by `rasad schema infer`.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{label} is not UTF-8 text; upload the schema YAML file.") from None


# ---- validations ----------------------------------------------------------------------


@router.post("/validations", status_code=201, response_model=ValidationReport)
def validate(ctx: ContextDep, body: ValidationRequest) -> Response:
    """Validate a dataset version against its schema (or the YAML sent), store the masked
    report with its audit event, and send it back masked. ``ok`` false is a finding,
    not an error. ``rasad validate NAME[@VERSION]``."""
    version = _version(ctx, body.dataset)
    if body.schema_yaml is None:
        report = service.validate_dataset(ctx, version)
    else:
        ctx.require(Permission.DATASET_WRITE, f"record a validation of {version.ref}")
        # Only a label (the client's path as given, as a local run shows it): never read.
        label = body.schema_name or "schema.yaml"
        schema = _parse(body.schema_yaml, label)
        stored = StoredSchema(dataset=version.name, version=None, source=label,
                              table_schema=schema,
                              content_hash=hashlib.sha256(
                                  schema.to_yaml().encode("utf-8")).hexdigest())
        service.check_applies(stored, version.kinds, version.ref)
        report, _ = service.validate_version(ctx, version, stored)
        report = report.labelled(version.ref, stored.label)
    return respond(report.masked(), 201)


@router.get("/validations", response_model=list[StoredValidation])
def list_validations(ctx: ContextDep,
                     dataset: Annotated[str | None, Query(pattern=NO_NUL, max_length=200)]
                     = None) -> Response:
    """The validations recorded, oldest first; of one dataset name when given."""
    return respond(service.validations(ctx, dataset))


# ---- quality and personal data --------------------------------------------------------


@router.post("/quality", response_model=QualityReport)
def quality(ctx: ContextDep, body: QualityRequest) -> Response:
    """The data quality report of a dataset version. ``rasad quality NAME[@VERSION]``."""
    version = _version(ctx, body.dataset)
    return respond(service.dataset_quality(ctx, version, target=body.target))


@router.post("/pii-scans", response_model=PIIReport)
def scan_pii(ctx: ContextDep, body: ScanRequest) -> Response:
    """Personal data by column in a dataset version, with masked examples only.
    ``rasad pii scan NAME[@VERSION]``."""
    version = _version(ctx, body.dataset)
    return respond(service.scan_dataset(
        ctx, version, protected_attributes=body.protected_attributes,
        sample_rows=None if body.all_rows else DEFAULT_SAMPLE_ROWS))
