"""``/datasets``: upload a CSV or Parquet file as a new version, list, show."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from rasad.api.auth import ContextDep
from rasad.api.bodies import ClientPath, DatasetAdded, NamePath, Text, VersionPath, respond
from rasad.datasets import DatasetVersion
from rasad.datasets import service as datasets
from rasad.governance.datasheet import datasheet
from rasad.governance.datasheet_result import Datasheet

router = APIRouter(prefix="/datasets", tags=["datasets"])


def _file_name(given: str | None) -> str:
    """The uploaded file's own name, reduced to safe characters; its suffix (.csv,
    .parquet...) tells the reader the format, and the name is recorded as the source."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(given or "").name)[-120:].lstrip(".")
    return base or "upload"


def client_file_name(given: str | None) -> str:
    """The uploaded file's name as the client sent it, for the record (never a path on
    the server); NUL characters dropped, at most 4,096 characters.

    >>> client_file_name("loans.csv"), client_file_name(None)
    ('loans.csv', 'upload')
    """
    return (given or "").replace("\x00", "")[:4096] or "upload"


@router.post("/{name}/versions", status_code=201, response_model=DatasetAdded,
             responses={200: {"model": DatasetAdded,
                              "description": "Identical content was stored already."}})
def upload(
    ctx: ContextDep,
    name: NamePath,
    file: Annotated[UploadFile, File(description="A CSV, TSV or Parquet file (by suffix).")],
    description: Annotated[Text | None, Form()] = None,
    source: Annotated[ClientPath | None, Form(description=(
        "The file as the client names it, recorded as the version's source (the remote "
        "client sends its absolute path, or 'pandas.DataFrame'); default the uploaded "
        "file's name."))] = None,
) -> Response:
    """Store a file as a new immutable version of ``name`` (201); identical content is
    stored once (200, ``created`` false). ``rasad data add``.

    The version's ``source`` and its ``dataset.add`` audit event name the client's file
    (marked ``source_from: client``), never the server's temporary copy."""
    with tempfile.TemporaryDirectory(prefix="rasad-upload-") as folder:
        path = Path(folder) / _file_name(file.filename)
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, length=1 << 20)
        result = datasets.add(ctx, path, name, description=description,
                              client_source=source or client_file_name(file.filename))
    body = DatasetAdded.from_dict(result.to_dict())
    return respond(body, 201 if result.created else 200)


@router.get("", response_model=list[DatasetVersion])
def list_all(ctx: ContextDep) -> Response:
    """Every dataset version, by name then version. ``rasad data list``."""
    return respond(datasets.list_versions(ctx))


@router.get("/{name}/versions", response_model=list[DatasetVersion])
def list_versions(ctx: ContextDep, name: NamePath) -> Response:
    """The versions of one dataset. ``rasad data list NAME``."""
    return respond(datasets.list_versions(ctx, name))


@router.get("/{name}", response_model=DatasetVersion)
def latest(ctx: ContextDep, name: NamePath) -> Response:
    """The latest version, with its kinds and profile. ``rasad data show NAME``."""
    return respond(datasets.get(ctx, name))


@router.get("/{name}/versions/{version}", response_model=DatasetVersion)
def show(ctx: ContextDep, name: NamePath, version: VersionPath) -> Response:
    """One version, with its kinds and profile. ``rasad data show NAME@VERSION``."""
    return respond(datasets.get(ctx, name, version))


@router.get("/{name}/datasheet", response_model=Datasheet)
def latest_datasheet(ctx: ContextDep, name: NamePath) -> Response:
    """The datasheet of the latest version. ``rasad datasheet NAME --format json``."""
    return respond(datasheet(ctx, name))


@router.get("/{name}/versions/{version}/datasheet", response_model=Datasheet)
def show_datasheet(ctx: ContextDep, name: NamePath, version: VersionPath) -> Response:
    """The datasheet of one version, generated from the records: profile, schema,
    validations, personal data (kinds and shares, never values), protected attributes,
    lineage, models trained on it, and the questions rasad.yaml answers or leaves open.
    ``rasad datasheet NAME@VERSION --format json``."""
    return respond(datasheet(ctx, name, version))
