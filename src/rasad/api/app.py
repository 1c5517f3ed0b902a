"""The management HTTP API: :func:`create_app` serves one project over its services.

The server holds the database credentials (``rasad.yaml``, ``RASAD_DATABASE_URL``);
clients hold API tokens. Every route is under ``/api/v1``, the OpenAPI schema is at
``/api/v1/openapi.json`` and the interactive docs at ``/api/v1/docs``; errors are RFC
9457 problem details (:mod:`rasad.api.problems`). See docs/api.md.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, FastAPI

from rasad.api.limits import BodySizeLimit, max_upload_bytes
from rasad.api.problems import HANDLERS, MEDIA_TYPE, Problem
from rasad.api.routes import (
    audit,
    card,
    checks,
    datasets,
    evidence,
    files,
    identity,
    inventory,
    maintenance,
    models,
    monitoring,
    requests,
    runs,
    subjects,
    tracking,
    training,
    validation,
)
from rasad.config import CONFIG_FILE, ProjectConfig
from rasad.core import Context
from rasad.errors import NotFoundError
from rasad.store import migrate

PREFIX: Final = "/api/v1"

_PROBLEM: dict[str, Any] = {"model": Problem, "content": {MEDIA_TYPE: {}},
            "description": "An RFC 9457 problem (docs/api.md)."}
# Every authenticated route can answer with these; each is a problem details object.
PROBLEM_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: _PROBLEM for status in (401, 403, 404, 409, 413, 422)}


def create_app(root: Path, *, environ: Mapping[str, str] | None = None) -> FastAPI:
    """The API serving the project at ``root``.

    Parameters
    ----------
    root : Path
        The project folder (``rasad.yaml``); its database and artifact store are opened
        once and shared by every request.
    environ : mapping, optional
        Where ``RASAD_MAX_UPLOAD_BYTES`` is read (default: the process environment).

    Raises
    ------
    NotFoundError
        If ``root`` holds no ``rasad.yaml``.
    """
    root = Path(root).resolve()
    if not (root / CONFIG_FILE).is_file():
        raise NotFoundError(f"No rasad project in {root}: {CONFIG_FILE} is missing. Run "
                            "`rasad init` there, or pass the project folder.")
    context = Context.build(root, ProjectConfig.load(root / CONFIG_FILE))
    limit = max_upload_bytes(os.environ if environ is None else environ)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Refuse to serve a database this rasad cannot read (`rasad db upgrade` first).
        migrate.check_current(context.db)
        yield
        context.close()

    app = FastAPI(
        title="rasad", version="1", lifespan=lifespan,
        summary="Management API: datasets, runs, models, deployments, promotion requests, "
                "monitors, the audit log, users and tokens.",
        openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs", redoc_url=None,
    )
    app.state.context = context
    app.state.max_upload_bytes = limit
    api = APIRouter(prefix=PREFIX, responses=PROBLEM_RESPONSES)
    for module in (datasets, runs, training, validation, models, requests, monitoring, checks,
                   audit, identity, tracking, files, maintenance, inventory, evidence,
                   subjects, card):
        api.include_router(module.router)
    app.include_router(api)
    for error, handler in HANDLERS.items():
        app.add_exception_handler(error, handler)
    app.add_middleware(BodySizeLimit, limit=limit)
    return app


__all__ = ["PREFIX", "PROBLEM_RESPONSES", "create_app"]
