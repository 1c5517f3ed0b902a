"""``rasad server``: the management HTTP API on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import clean, err_console
from rasad.errors import InputError


def server(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(
        help="Address to listen on; 0.0.0.0 for every interface (put TLS in front).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free one).")]
    = 8000,
) -> None:
    """Serve the management HTTP API for the project (token authentication).

    Routes are under /api/v1, the OpenAPI schema is /api/v1/openapi.json and the
    interactive docs /api/v1/docs. Clients authenticate with `Authorization: Bearer
    rsd_...` (`rasad tokens create NAME`); the server keeps the database credentials.
    Request bodies are limited to RASAD_MAX_UPLOAD_BYTES (default 1 GiB). Stop with Ctrl-C.
    """
    # Imported here: `rasad --help` must not load FastAPI, uvicorn or the database layer.
    try:
        import uvicorn

        from rasad.api import create_app
    except ImportError as exc:
        raise InputError(f"`rasad server` needs the api extra ({exc.name} is not installed): "
                         "pip install 'rasad[api]'.") from exc

    project = state(ctx).project()  # finds the project and checks its database is current
    root = project.root
    project.close()  # the server opens its own connections
    app = create_app(root)
    err_console().print(f"Serving project {clean(project.config.name)} ({clean(root)}) at "
                        f"http://{clean(host)}:{port}/api/v1 (docs: /api/v1/docs).",
                        highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
