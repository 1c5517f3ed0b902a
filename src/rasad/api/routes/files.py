"""``.../file``: the stored bytes of a dataset version (Parquet) and of a model version
(skops), for ``Project.load_dataset`` and ``Project.load_model`` over the server.

The server checks the bytes against their hash before it sends them; the client checks
them again against the hash the version records (the JSON of ``GET`` on the version)
before it uses them, and a model is loaded there with rasad's trust policy, never
unpickled.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from rasad.api.auth import ContextDep
from rasad.api.bodies import NamePath, VersionPath
from rasad.core import Context
from rasad.datasets import service as datasets
from rasad.registry import models

router = APIRouter(tags=["files"])

PARQUET: Final = "application/vnd.apache.parquet"
SKOPS: Final = "application/octet-stream"


def _binary(media: str, what: str) -> dict[int | str, dict[str, object]]:
    return {200: {"description": what,
                  "content": {media: {"schema": {"type": "string", "format": "binary"}}}}}


def _send_blob(ctx: Context, digest: str, media: str, filename: str) -> Response:
    """The blob, checked against its hash; a copy fetched from a remote store is removed
    once it has been sent."""
    stack = ExitStack()
    try:
        path: Path = stack.enter_context(ctx.artifacts.local_copy(digest))
    except BaseException:
        stack.close()
        raise
    return FileResponse(path, media_type=media, filename=filename,
                        background=BackgroundTask(stack.close))


@router.get("/datasets/{name}/versions/{version}/file", response_class=FileResponse,
            responses=_binary(PARQUET, "The version's rows as stored (Parquet); their "
                                       "sha256 is the version's content_hash."))
def dataset_file(ctx: ContextDep, name: NamePath, version: VersionPath) -> Response:
    """A dataset version's stored Parquet file. ``Project.load_dataset``."""
    found = datasets.get(ctx, name, version)
    return _send_blob(ctx, found.blob, PARQUET, f"{name}-{version}.parquet")


@router.get("/models/{name}/versions/{version}/file", response_class=FileResponse,
            responses=_binary(SKOPS, "The version's fitted model as stored (skops); its "
                                     "sha256 is the version's blob."))
def model_file(ctx: ContextDep, name: NamePath, version: VersionPath) -> Response:
    """A model version's stored skops file. ``Project.load_model``."""
    found = models.resolve(ctx, name, version=version)
    return _send_blob(ctx, found.blob, SKOPS, f"{name}-{version}.skops")


__all__ = ["PARQUET", "SKOPS", "router"]
